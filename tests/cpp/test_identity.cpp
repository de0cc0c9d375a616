// Tests of include/cxlens/identity: normalisers, similarity, linkage on FEBRL, guards, mapping
// validation, resolution with golden records and lineage, unified events, incremental runs.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cxlens/identity/identity.hpp"
#include "cxlens/sim/world.hpp"
#include "cxlens/store/event_log.hpp"

using namespace cxlens;
using namespace cxlens::identity;

namespace {

/// A FEBRL file: normalised attribute columns and the true entity of each record.
struct Febrl {
  std::vector<std::string> names;
  std::vector<TextColumn> columns;
  std::vector<std::uint64_t> truth;
};

Febrl read_febrl(const std::string& file, Febrl data = {}) {
  std::ifstream in(std::string(CXLENS_TEST_DATA_DIR) + "/febrl/" + file);
  REQUIRE(in.good());
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const auto end = line.find(", ", start);
      fields.push_back(line.substr(start, end == std::string::npos ? end : end - start));
      if (end == std::string::npos) break;
      start = end + 2;
    }
    if (header) {
      header = false;
      if (data.names.empty()) {
        data.names.assign(fields.begin() + 1, fields.end());
        data.columns.resize(data.names.size());
      }
      continue;
    }
    const auto dash = fields[0].find('-'), dash2 = fields[0].find('-', dash + 1);
    data.truth.push_back(std::stoull(fields[0].substr(dash + 1, dash2 - dash - 1)));
    for (std::size_t k = 1; k < fields.size(); ++k) {
      const auto& name = data.names[k - 1];
      const std::string value = fields[k] == " " ? "" : fields[k];
      if (name == "date_of_birth")
        data.columns[k - 1].push_back(normalize_date(value));
      else if (name == "postcode" || name == "street_number" || name == "soc_sec_id")
        data.columns[k - 1].push_back(normalize_digits(value));
      else
        data.columns[k - 1].push_back(fold_text(value));
    }
  }
  return data;
}

/// Comparisons and blocking used on FEBRL (the same blocking the Python test gives
/// recordlinkage): given_name, surname, street_number, address_1, address_2, suburb, postcode,
/// state, date_of_birth, soc_sec_id; blocks on given name, surname, postcode, date of birth.
LinkageSettings febrl_settings() {
  LinkageSettings settings;
  settings.comparisons = {name_comparison(), name_comparison(),  typo_comparison(),
                          text_comparison(), text_comparison(),  text_comparison(true),
                          typo_comparison(), exact_comparison(), typo_comparison(),
                          typo_comparison()};
  settings.blocking = {{{{0, 0}}}, {{{1, 0}}}, {{{6, 0}}}, {{{8, 0}}}};
  return settings;
}

std::pair<PairQuality, ClusterQuality> evaluate(const LinkageResult& result,
                                                const std::vector<std::uint64_t>& truth,
                                                std::span<const std::uint8_t> side = {}) {
  std::vector<std::uint32_t> first, second;
  for (const auto& link : result.links)
    first.push_back(link.a), second.push_back(link.b);
  return {evaluate_pairs(first, second, truth, side),
          evaluate_clusters(result.clustering.cluster, truth)};
}

}  // namespace

TEST_CASE("normalisers fold names, emails, phones, postcodes and dates") {
  CHECK(fold_text("  José  Ñúñez-O'Brien ") == "jose nunez obrien");
  CHECK(fold_text("Łukasz Żółć") == "lukasz zolc");
  CHECK(fold_text("STRAßE Æble") == "strasse aeble");
  CHECK(fold_text("\xFF\xFE") == "");  // invalid UTF-8 is no value
  CHECK(normalize_name("Bill", true) == "william");
  CHECK(normalize_name("Bill Smith", false) == "bill smith");
  CHECK(normalize_email("  Ann.Lee+news@GMail.com ") == "ann.lee+news@gmail.com");
  CHECK(normalize_email("Ann.Lee+news@GoogleMail.com", true) == "annlee@gmail.com");
  CHECK(normalize_email("a+b@example.com", true) == "a+b@example.com");
  CHECK(normalize_email("not-an-email") == "");
  CHECK(normalize_email("a@b@c.com") == "");
  CHECK(normalize_phone("+61 (2) 9876-5432") == "61298765432");
  CHECK(normalize_phone("02 9876 5432", "61") == "61298765432");
  CHECK(normalize_phone("0061 2 9876 5432", "31") == "61298765432");
  CHECK(normalize_phone("123") == "");
  CHECK(normalize_postcode(" sw1a 1aa") == "SW1A1AA");
  CHECK(normalize_date("1956-04-09") == "19560409");
  CHECK(normalize_date("09/04/1956") == "19560409");
  CHECK(normalize_date("04/09/1956", false) == "19560409");
  CHECK(normalize_date("19560409") == "19560409");
  CHECK(normalize_date("19561409") == "19561409");  // kept: a typo still compares by edits
  CHECK(normalize_date("31/02/2000") == "");
}

TEST_CASE("Jaro-Winkler and Levenshtein match their published values") {
  CHECK(jaro_winkler("martha", "marhta") == doctest::Approx(0.9611).epsilon(1e-3));
  CHECK(jaro_winkler("dwayne", "duane") == doctest::Approx(0.84).epsilon(1e-3));
  CHECK(jaro_winkler("dixon", "dicksonx") == doctest::Approx(0.8133).epsilon(1e-3));
  CHECK(jaro_winkler("", "") == 1.0);
  CHECK(jaro_winkler("abc", "") == 0.0);
  CHECK(levenshtein("kitten", "sitting") == 3);
  CHECK(levenshtein("kitten", "sitting", 1) == 2);  // capped at limit + 1
  CHECK(levenshtein("flaw", "lawn") == 2);
  const std::string long_a(100, 'a'), long_b = std::string(99, 'a') + "b";
  CHECK(levenshtein(long_a, long_b) == 1);
  CHECK(jaro_winkler(long_a, long_b) > 0.99);
}

TEST_CASE("FEBRL deduplication: pairwise and cluster precision, recall and F1") {
  struct Case {
    const char* file;
    std::uint64_t true_pairs;
    double min_f1;
  };
  for (const Case& c : {Case{"dataset1.csv", 500, 0.97}, Case{"dataset2.csv", 1934, 0.97},
                        Case{"dataset3.csv", 6538, 0.97}}) {
    const std::string file = c.file;
    CAPTURE(file);
    const auto data = read_febrl(c.file);
    const auto records = make_records(data.names, data.columns);
    const auto result = link_records(records, febrl_settings());
    const auto [pairs, clusters] = evaluate(result, data.truth);
    MESSAGE(file << ": pairs P " << pairs.precision << " R " << pairs.recall << " F1 " << pairs.f1
                 << "; clusters F1 " << clusters.pairs.f1 << " B3 " << clusters.bcubed_f1
                 << " exact " << clusters.exact_entities);
    CHECK(pairs.true_pairs == c.true_pairs);
    CHECK(pairs.f1 >= c.min_f1);
    CHECK(clusters.pairs.f1 >= c.min_f1);
    CHECK(result.model.converged);
  }
}

TEST_CASE("FEBRL linkage of dataset4a with dataset4b") {
  auto data = read_febrl("dataset4a.csv");
  const std::size_t a = data.truth.size();
  data = read_febrl("dataset4b.csv", std::move(data));
  auto records = make_records(data.names, data.columns);
  records.side.assign(data.truth.size(), 1);
  std::fill(records.side.begin(), records.side.begin() + static_cast<std::ptrdiff_t>(a), 0);
  const auto result = link_records(records, febrl_settings());
  for (const auto& link : result.links)
    CHECK(records.side[link.a] != records.side[link.b]);
  const auto [pairs, clusters] = evaluate(result, data.truth, records.side);
  MESSAGE("dataset4a x 4b: pairs P " << pairs.precision << " R " << pairs.recall << " F1 "
                                     << pairs.f1);
  CHECK(pairs.true_pairs == 5000);
  CHECK(pairs.f1 >= 0.97);
}

TEST_CASE("results do not depend on the thread count; summaries merge by addition") {
  const auto data = read_febrl("dataset2.csv");
  const auto records = make_records(data.names, data.columns);
  auto settings = febrl_settings();
  settings.threads = 1;
  const auto one = link_records(records, settings);
  settings.threads = 3;
  const auto three = link_records(records, settings);
  CHECK(one.links == three.links);
  CHECK(one.model == three.model);
  CHECK(one.clustering == three.clustering);
  // The summary: every candidate once; summaries of two halves merge into the whole, in
  // either order, and training on the merged summary gives the same model.
  const auto candidates = candidate_pairs(records, settings.comparisons, settings.blocking);
  CHECK(candidates.summary.pairs() == candidates.size());
  std::vector<std::vector<std::uint64_t>> keys;
  for (const auto& rule : settings.blocking)
    keys.push_back(blocking_keys(records, rule));
  LinkageSummary even, odd;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    std::uint32_t mask = 0;
    for (std::size_t r = 0; r < keys.size(); ++r) {
      const auto x = keys[r][candidates.first[i]], y = keys[r][candidates.second[i]];
      if (x != 0 && x == y) mask |= 1u << r;
    }
    (i % 2 ? odd : even).add(candidates.pattern[i], mask);
  }
  LinkageSummary forward = even, backward = odd;
  forward.merge(odd);
  backward.merge(even);
  CHECK(forward == backward);
  CHECK(forward == candidates.summary);
  CHECK(train(records, forward, settings) == one.model);
}

TEST_CASE("clusters: the size guard cuts the weakest links and reports the cut") {
  // A chain 0-1-2-3-4-5 with a weak link in the middle.
  const std::vector<Link> links{{0, 1, 10}, {1, 2, 9}, {2, 3, 1}, {3, 4, 8}, {4, 5, 7}};
  const auto free = cluster_links(7, links);
  CHECK(free.cluster_count == 2);  // the chain and record 6
  CHECK(free.cuts.empty());
  const auto guarded = cluster_links(7, links, 3);
  CHECK(guarded.cluster_count == 3);
  CHECK(guarded.cluster[0] == guarded.cluster[2]);
  CHECK(guarded.cluster[3] == guarded.cluster[5]);
  CHECK(guarded.cluster[2] != guarded.cluster[3]);
  REQUIRE(guarded.cuts.size() == 1);
  CHECK(guarded.cuts[0].size == 6);
  CHECK(guarded.cuts[0].pieces == 2);
  CHECK(guarded.cuts[0].links_dropped == 1);
}

TEST_CASE("value guards: listed and shared values become missing") {
  Attribute phone;
  phone.name = "phone";
  for (const char* value : {"111", "222", "999", "999", "999", "999", ""})
    phone.push_back(value);
  const auto report = block_values(phone, {"111", "555"}, 3);
  CHECK(report.listed_values == 1);
  CHECK(report.shared_values == 1);
  CHECK(report.records_affected == 5);
  CHECK(report.largest_shared == 4);
  CHECK(phone.code[0] == 0);
  CHECK(phone.code[1] != 0);
  phone.push_back("555");  // listed before it was seen: blocked on arrival
  CHECK(phone.code.back() == 0);
}

namespace {

SourceColumn text_column(std::string name, std::initializer_list<std::string_view> values) {
  SourceColumn column;
  column.name = std::move(name);
  column.text = TextColumn(values);
  return column;
}

FieldMapping map(IdentityField field, std::string column) {
  FieldMapping mapping;
  mapping.field = field;
  mapping.column = std::move(column);
  mapping.normalizer = default_normalizer(field);
  return mapping;
}

ResolutionSpec three_sources() {
  using F = IdentityField;
  ResolutionSpec spec;
  SourceMapping crm{"crm", "id", {}, "updated", std::nullopt};
  crm.fields = {map(F::first_name, "first"), map(F::last_name, "last"), map(F::email, "email"),
                map(F::phone, "phone"), map(F::date_of_birth, "dob")};
  crm.fields[3].normalizer.country_code = "61";
  SourceMapping calls{"call_center", "call_id", {}, "", std::nullopt};
  calls.fields = {map(F::first_name, "name_first"), map(F::last_name, "name_last"),
                  map(F::phone, "caller")};
  calls.fields[2].normalizer.country_code = "61";
  SourceMapping web{"web", "account", {}, "", std::nullopt};
  web.fields = {map(F::email, "login"), map(F::device_id, "cookie")};
  spec.sources = {crm, calls, web};
  spec.blocked_values = {{F::phone, {"1300 000 000"}}};
  spec.max_cluster_size = 10;
  // Nine records carry little evidence (every u is large); a lower bar than the default 0.9.
  spec.threshold = 0.5;
  return spec;
}

std::vector<SourceRecords> three_tables() {
  SourceRecords crm{"crm",
                    {text_column("id", {"c1", "c2", "c3", "c4"}),
                     text_column("first", {"Ann", "Bob", "Chloé", "Dan"}),
                     text_column("last", {"Lee", "Stone", "Martin", "Wu"}),
                     text_column("email", {"ann@x.com", "bob@y.org", "", "dan@z.net"}),
                     text_column("phone", {"0298765432", "0299990000", "0291112222", ""}),
                     text_column("dob", {"1980-01-02", "1975-05-06", "1990-07-08", ""}),
                     text_column("updated", {"2024-01-01", "2024-02-01", "2023-01-01", ""})}};
  SourceRecords calls{"call_center",
                      {text_column("call_id", {"k1", "k2", "k3"}),
                       text_column("name_first", {"ann", "Chloe", "Eve"}),
                       text_column("name_last", {"LEE", "Martin", "Adams"}),
                       text_column("caller", {"+61 2 9876 5432", "+61291112222", "1300 000 000"})}};
  SourceRecords web{
      "web",
      {text_column("account", {"w1", "w2"}), text_column("login", {"ANN@X.COM ", "dan@z.net"}),
       text_column("cookie", {"ck-1", "ck-2"})}};
  return {crm, calls, web};
}

}  // namespace

TEST_CASE("mapping validation names the source and field") {
  auto spec = three_sources();
  spec.sources[1].record_id.clear();
  CHECK_THROWS_WITH_AS(validate(spec), "source 'call_center': no record id column is named",
                       InvalidArgument);
  spec = three_sources();
  spec.sources[0].fields.push_back(map(IdentityField::email, "email2"));
  CHECK_THROWS_WITH_AS(validate(spec), "source 'crm', field 'email': mapped twice",
                       InvalidArgument);
  spec = three_sources();
  spec.blocking = {{{IdentityField::loyalty_number, 0}}};
  CHECK_THROWS_AS(validate(spec), NotFound);
  CHECK_THROWS_WITH_AS(parse_identity_field("emial"),
                       doctest::Contains("'emial' is not a model field"), NotFound);
  spec = three_sources();
  spec.hash_outputs = true;
  CHECK_THROWS_WITH_AS(validate(spec), "hashed outputs need a salt", InvalidArgument);
}

TEST_CASE("resolve: deterministic and probabilistic links, golden records, lineage, events") {
  const auto spec = three_sources();
  const auto resolution = resolve(spec, three_tables());
  const auto& c = resolution.customer;
  // Records: crm c1..c4 (0-3), call_center k1..k3 (4-6), web w1, w2 (7, 8).
  CHECK(c[0] == c[4]);  // Ann: phone and name
  CHECK(c[0] == c[7]);  // Ann: email (deterministic)
  CHECK(c[2] == c[5]);  // Chloé: accent-folded name and phone
  CHECK(c[3] == c[8]);  // Dan: email
  CHECK(c[1] != c[0]);
  CHECK(c[6] != c[0]);  // Eve's shared call-center phone is blocked
  CHECK(resolution.report.customers == 5);
  const auto& rules = resolution.report.matches_by_rule;
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].first == "deterministic:email");
  CHECK(rules[0].second == 2);
  CHECK(rules[1].first == "deterministic:device_id");
  CHECK(rules[2].first == "probabilistic");
  REQUIRE(resolution.report.blocked_values.size() == 1);
  CHECK(resolution.report.blocked_values[0].attribute == "phone");
  CHECK(resolution.report.blocked_values[0].records_affected == 1);

  const auto golden = golden_records(resolution);
  REQUIRE(golden.customer.size() == 5);
  const auto field = [&](IdentityField f) {
    return static_cast<std::size_t>(std::find(golden.fields.begin(), golden.fields.end(), f) -
                                    golden.fields.begin());
  };
  const auto ann = c[0];
  const auto row = static_cast<std::size_t>(
      std::find(golden.customer.begin(), golden.customer.end(), ann) - golden.customer.begin());
  CHECK(golden.record_count[row] == 3);
  // most_frequent: "Ann" (crm) vs "ann" (call center) normalise equal; ties go to the crm.
  CHECK(golden.value[field(IdentityField::first_name)][row] == "Ann");
  CHECK(resolution.source[golden.record[field(IdentityField::first_name)][row]] == 0);
  CHECK(golden.value[field(IdentityField::device_id)][row] == "ck-1");
  CHECK(resolution.source[golden.record[field(IdentityField::device_id)][row]] == 2);

  // Events of two sources, keyed by their record ids, become one log keyed by customer.
  EventLog crm_events, web_events;
  const auto add = [](EventLog& log, const char* record, const char* channel, Timestamp t) {
    const CustomerId customer = log.add_customer(record);
    const ChannelId ch = log.channel_for(channel);
    const EventTypeId type = log.event_type_for("purchase");
    EventColumns columns;
    columns.customer = std::span(&customer, 1);
    columns.time = std::span(&t, 1);
    columns.channel = std::span(&ch, 1);
    columns.event_type = std::span(&type, 1);
    log.append(columns);
  };
  add(crm_events, "c1", "store", make_timestamp(2024, 1, 5));
  add(crm_events, "zz", "store", make_timestamp(2024, 1, 6));  // unknown record
  add(web_events, "w1", "web", make_timestamp(2024, 1, 4));
  add(web_events, "w2", "web", make_timestamp(2024, 1, 7));
  const auto unified = unify_events(resolution, {{"crm", &crm_events}, {"web", &web_events}});
  CHECK(unified.size() == 3);
  CHECK(unified.rejections().rows_in == 4);
  CHECK(unified.rejections().counts[static_cast<std::size_t>(RejectReason::missing_customer)] == 1);
  const auto ann_id = unified.customers().find(std::to_string(ann));
  REQUIRE(ann_id != Dictionary::npos);
  CHECK(unified.customer_events(ann_id).size() == 2);
  CHECK(unified.integer_customer_keys());
}

TEST_CASE("resolve_more links new records to existing customers with stable ids") {
  auto resolution = resolve(three_sources(), three_tables());
  const auto before = resolution.customer;
  SourceRecords more{
      "web",
      {text_column("account", {"w3", "w4"}), text_column("login", {"bob@y.org", "new@person.com"}),
       text_column("cookie", {"ck-3", "ck-4"})}};
  const auto report = resolve_more(resolution, {more});
  REQUIRE(resolution.customer.size() == before.size() + 2);
  for (std::size_t i = 0; i < before.size(); ++i)
    CHECK(resolution.customer[i] == before[i]);
  CHECK(resolution.customer[9] == before[1]);  // Bob by email
  CHECK(resolution.customer[10] == 5);         // a new customer gets the next id
  CHECK(resolution.next_customer == 6);
  CHECK(report.records == 2);
  CHECK(report.customers == 1);
  // A duplicate record id of an earlier run is an error naming source and column.
  CHECK_THROWS_WITH_AS(resolve_more(resolution, {more}),
                       doctest::Contains("source 'web', column 'account': duplicate record id"),
                       InvalidArgument);
}

TEST_CASE("bad input: typed errors naming source and column, never a value") {
  const auto expect = [](auto tables, auto spec, const char* message) {
    try {
      (void)resolve(spec, tables);
      FAIL("no error");
    } catch (const Error& error) {
      const std::string text = error.what();
      CHECK_MESSAGE(text.find(message) != std::string::npos, text);
      for (const char* value : {"ann@x.com", "Ann", "c1", "0298765432"})
        CHECK_MESSAGE(text.find(value) == std::string::npos, text);
    }
  };
  auto tables = three_tables();
  tables[0].columns.erase(tables[0].columns.begin() + 3);  // no email column
  CHECK_THROWS_AS((void)resolve(three_sources(), tables), NotFound);
  expect(tables, three_sources(), "source 'crm', field 'email': column 'email' is missing");

  tables = three_tables();
  tables[0].columns.erase(tables[0].columns.begin());  // no id column
  expect(tables, three_sources(), "source 'crm': the record id column 'id' is missing");

  tables = three_tables();
  tables[1].columns[1].holds_time = true;
  tables[1].columns[1].time.assign(3, 0);
  CHECK_THROWS_AS((void)resolve(three_sources(), tables), TypeMismatch);
  expect(tables, three_sources(), "source 'call_center', column 'name_first'");

  tables = three_tables();
  tables[2] = SourceRecords{
      "web", {text_column("account", {}), text_column("login", {}), text_column("cookie", {})}};
  expect(tables, three_sources(), "source 'web' is empty");

  tables = three_tables();
  tables[0].columns[0] = text_column("id", {"c1", "c2", "c1", "c4"});
  CHECK_THROWS_AS((void)resolve(three_sources(), tables), InvalidArgument);
  expect(tables, three_sources(), "source 'crm', column 'id': duplicate record id (rows 0 and 2)");

  tables = three_tables();
  auto spec = three_sources();
  spec.blocked_values.push_back({IdentityField::email, {"ann@x.com", "dan@z.net"}});
  spec.blocked_values.push_back({IdentityField::device_id, {"ck-1", "ck-2"}});
  expect(tables, spec, "source 'web': every record is blocked or empty");

  tables = three_tables();
  tables.push_back(SourceRecords{"survey", {text_column("id", {"s1"})}});
  expect(tables, three_sources(), "records were given for source 'survey'");
}

TEST_CASE("PII: salted keys are hashed at ingestion and in outputs") {
  auto spec = three_sources();
  spec.salt = "pepper";
  spec.hash_outputs = true;
  const auto resolution = resolve(spec, three_tables());
  CHECK(resolution.customer[0] == resolution.customer[7]);  // hashed emails still match
  const auto golden = golden_records(resolution);
  for (const auto& column : golden.value)
    for (const auto& value : column)
      CHECK((value.empty() || value.size() == 64));
  const auto email = static_cast<std::size_t>(
      std::find(golden.fields.begin(), golden.fields.end(), IdentityField::email) -
      golden.fields.begin());
  const auto ann_row = static_cast<std::size_t>(
      std::find(golden.customer.begin(), golden.customer.end(), resolution.customer[0]) -
      golden.customer.begin());
  CHECK(golden.value[email][ann_row] == hash_identity_key("pepper", "ann@x.com"));
  CHECK(output_record_id(resolution, 0) == hash_identity_key("pepper", "c1"));
  for (std::size_t a = 0; a < resolution.fields.size(); ++a)
    if (is_key_field(resolution.fields[a]))
      for (std::size_t i = 0; i < resolution.records.size(); ++i)
        CHECK(resolution.display[a][i].empty());
}

namespace {

SourceColumn copy_column(std::string name, const sim::StringColumn& values) {
  SourceColumn column;
  column.name = std::move(name);
  for (std::size_t i = 0; i < values.size(); ++i)
    column.text.push_back(values[i]);
  return column;
}

}  // namespace

TEST_CASE("simulated source systems resolve to the true people") {
  sim::WorldConfig config;
  config.n_customers = 2000;
  config.seed = 5;
  config.threads = 1;
  const auto world = sim::simulate(config);
  using F = IdentityField;
  ResolutionSpec spec;
  std::vector<SourceRecords> tables;
  std::vector<std::uint64_t> truth;
  for (std::size_t s = 0; s < sim::source_system_count; ++s) {
    const auto& table = world.sources[s];
    const std::string name(sim::to_string(static_cast<sim::SourceSystem>(s)));
    SourceMapping mapping{name, "record_id", {}, "", std::nullopt};
    mapping.fields = {map(F::first_name, "first_name"),
                      map(F::last_name, "last_name"),
                      map(F::email, "email"),
                      map(F::phone, "phone"),
                      map(F::address, "street"),
                      map(F::postcode, "postal_code"),
                      map(F::city, "city"),
                      map(F::date_of_birth, "birth_date")};
    mapping.fields[0].normalizer.nicknames = true;
    mapping.fields[3].normalizer.country_code = "1";
    mapping.fields[7].normalizer.day_first =
        static_cast<sim::SourceSystem>(s) != sim::SourceSystem::web_app;  // US dates
    spec.sources.push_back(mapping);
    tables.push_back(
        {name,
         {copy_column("record_id", table.record_id), copy_column("first_name", table.first_name),
          copy_column("last_name", table.last_name), copy_column("email", table.email),
          copy_column("phone", table.phone), copy_column("street", table.street),
          copy_column("postal_code", table.postal_code), copy_column("city", table.city),
          copy_column("birth_date", table.birth_date)}});
    truth.insert(truth.end(), table.person_id.begin(), table.person_id.end());
  }
  spec.max_cluster_size = 30;
  const auto resolution = resolve(spec, tables);
  REQUIRE(resolution.customer.size() == truth.size());
  std::vector<std::uint32_t> cluster(resolution.customer.begin(), resolution.customer.end());
  const auto quality = evaluate_clusters(cluster, truth);
  MESSAGE("simulated sources: " << truth.size() << " records of " << quality.entities
                                << " people: clusters P " << quality.pairs.precision << " R "
                                << quality.pairs.recall << " F1 " << quality.pairs.f1 << " B3 "
                                << quality.bcubed_f1);
  CHECK(quality.pairs.f1 >= 0.9);
}
