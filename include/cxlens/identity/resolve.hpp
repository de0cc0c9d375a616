// cxlens identity: resolving every source's records into customers — golden records with
// lineage, one unified event log, and incremental linking of new records with stable ids.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cxlens/error.hpp"
#include "cxlens/identity/cluster.hpp"
#include "cxlens/identity/link_records.hpp"
#include "cxlens/identity/mapping.hpp"
#include "cxlens/identity/records.hpp"
#include "cxlens/model/hashing.hpp"
#include "cxlens/model/time.hpp"
#include "cxlens/store/event_log.hpp"

namespace cxlens::identity {

/// One column of a source table: text, or times (UTC ns) for time columns.
struct SourceColumn {
  std::string name;             ///< The column's name.
  TextColumn text;              ///< Its values, when it holds text.
  std::vector<Timestamp> time;  ///< Its values, when it holds times (`missing_time`: none).
  bool holds_time = false;      ///< Whether it holds times rather than text.
};

/// One source system's customer records, as columns.
struct SourceRecords {
  std::string source;                 ///< The source's name, as in the mapping.
  std::vector<SourceColumn> columns;  ///< Its columns.
  /// The column named `name`, or nullptr.
  [[nodiscard]] const SourceColumn* find(std::string_view name) const noexcept {
    for (const auto& column : columns)
      if (column.name == name) return &column;
    return nullptr;
  }
  /// Number of rows (of the first column).
  [[nodiscard]] std::size_t rows() const noexcept {
    if (columns.empty()) return 0;
    return columns.front().holds_time ? columns.front().time.size() : columns.front().text.size();
  }
};

/// A record that resolution could not use. Where and why only.
struct RejectedRecord {
  std::string source;   ///< Its source.
  std::size_t row = 0;  ///< 0-based row in the source table.
  std::string column;   ///< Column at fault.
  std::string reason;   ///< `missing_record_id`, `invalid_text` or `unparseable_time`.
  friend bool operator==(const RejectedRecord&, const RejectedRecord&) = default;
};

/// What a resolution did, in counts (never values).
struct ResolveReport {
  std::size_t records = 0;          ///< Records resolved (all sources).
  std::size_t customers = 0;        ///< Customers they became.
  std::size_t singletons = 0;       ///< Customers with one record.
  std::size_t candidate_pairs = 0;  ///< Pairs the probabilistic stage compared.
  /// Links made by each rule: "deterministic:email", ..., "probabilistic".
  std::vector<std::pair<std::string, std::size_t>> matches_by_rule;
  std::vector<ValueGuardReport> blocked_values;  ///< Guards on values, per field.
  std::vector<SharedKeyGuard> shared_keys;       ///< Deterministic groups refused as shared keys.
  std::vector<CutCluster> cut_clusters;          ///< Customers the size guard cut.
  std::uint64_t skipped_blocks = 0;              ///< Blocks too large to compare.
  std::vector<RejectedRecord> rejected;          ///< Records or values that could not be used
                                                 ///< (first 1000).
  std::size_t rejected_count = 0;                ///< All of them.
  std::size_t unlinkable = 0;  ///< Records with no usable identity value (their own customer).
  /// Customers merged into another by an incremental run: (absorbed id, surviving id).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> merged_customers;
};

/// The state of a resolution: every record, the model, and each record's customer. Kept to
/// link new records incrementally (`resolve_more`).
struct Resolution {
  ResolutionSpec spec;                  ///< The specification it ran with.
  std::vector<IdentityField> fields;    ///< Model field of each attribute of `records`.
  Records records;                      ///< Normalised (or hashed) values of every record.
  std::vector<TextColumn> display;      ///< Trimmed values as written, per attribute (keys
                                        ///< are empty when hashed at ingestion).
  std::vector<std::uint16_t> source;    ///< Source (index into `spec.sources`) per record.
  std::vector<std::uint32_t> row;       ///< Row in its source table per record.
  TextColumn record_id;                 ///< Source record id per record.
  std::vector<Timestamp> updated_at;    ///< Last update per record (`missing_time`: unknown).
  LinkageSettings settings;             ///< Linkage settings derived from `spec`.
  LinkageModel model;                   ///< The fitted model.
  std::vector<std::uint64_t> customer;  ///< Customer id of each record (stable).
  std::uint64_t next_customer = 0;      ///< Next unused customer id.
  ResolveReport report;                 ///< What the last run did.
  /// Record index by (source, record id) (`detail::record_key`), for events and incremental
  /// runs: the code of a key is its record's index (records are interned in order).
  ValueDictionary index;
};

namespace detail {

inline std::string record_key(std::uint16_t source, std::string_view id) {
  std::string key(reinterpret_cast<const char*>(&source), sizeof source);
  key.append(id);
  return key;
}

inline void add_rejection(ResolveReport& report, RejectedRecord rejected) {
  ++report.rejected_count;
  if (report.rejected.size() < 1000) report.rejected.push_back(std::move(rejected));
}

/// Checks one source's columns against its mapping (errors name source and column).
inline void check_source(const SourceMapping& mapping, const SourceRecords& table) {
  const std::string where = "source '" + mapping.name + "'";
  const auto* id = table.find(mapping.record_id);
  if (!id) throw NotFound(where + ": the record id column '" + mapping.record_id + "' is missing");
  if (id->holds_time)
    throw TypeMismatch(where + ", column '" + mapping.record_id +
                       "' (record id): holds times, expected text or integers");
  for (const auto& field : mapping.fields) {
    const auto* column = table.find(field.column);
    if (!column)
      throw NotFound(where + ", field '" + std::string(to_string(field.field)) + "': column '" +
                     field.column + "' is missing");
    if (column->holds_time && field.field != IdentityField::date_of_birth)
      throw TypeMismatch(where + ", column '" + field.column + "' (field '" +
                         std::string(to_string(field.field)) + "'): holds times, expected text");
  }
  if (!mapping.updated_at.empty() && !table.find(mapping.updated_at))
    throw NotFound(where + ": the updated-at column '" + mapping.updated_at + "' is missing");
  const std::size_t rows = table.rows();
  for (const auto& column : table.columns) {
    const std::size_t size = column.holds_time ? column.time.size() : column.text.size();
    if (size != rows)
      throw InvalidArgument(where + ", column '" + column.name + "': " + std::to_string(size) +
                            " rows, expected " + std::to_string(rows));
  }
  if (rows == 0) throw InvalidArgument(where + " is empty: it has no records");
}

inline LinkageSettings make_settings(const ResolutionSpec& spec,
                                     const std::vector<IdentityField>& fields) {
  LinkageSettings settings;
  const auto attribute_of = [&](IdentityField field) -> std::size_t {
    return static_cast<std::size_t>(std::find(fields.begin(), fields.end(), field) -
                                    fields.begin());
  };
  const auto has = [&](IdentityField field) { return attribute_of(field) < fields.size(); };
  for (auto field : fields) {
    Comparison comparison = default_comparison(field);
    if (!spec.salt.empty() && is_key_field(field)) comparison = exact_comparison(false);
    for (const auto& [f, c] : spec.comparisons)
      if (f == field) comparison = c;
    settings.comparisons.push_back(comparison);
  }
  std::vector<std::vector<IdentityField>> deterministic = spec.deterministic;
  if (deterministic.empty() && spec.default_deterministic)
    for (auto field : {IdentityField::email, IdentityField::loyalty_number,
                       IdentityField::device_id, IdentityField::customer_key})
      if (has(field)) deterministic.push_back({field});
  for (const auto& rule : deterministic) {
    std::vector<std::size_t> attributes;
    for (auto field : rule)
      attributes.push_back(attribute_of(field));
    settings.deterministic.push_back(attributes);
  }
  std::vector<FieldBlockingRule> blocking = spec.blocking;
  if (blocking.empty()) {
    using F = IdentityField;
    const std::vector<FieldBlockingRule> defaults{{{F::email, 0}},
                                                  {{F::phone, 0}},
                                                  {{F::last_name, 0}, {F::first_name, 1}},
                                                  {{F::last_name, 0}, {F::date_of_birth, 0}},
                                                  {{F::first_name, 0}, {F::date_of_birth, 0}},
                                                  {{F::last_name, 0}, {F::postcode, 0}},
                                                  {{F::postcode, 0}, {F::date_of_birth, 0}}};
    for (const auto& rule : defaults) {
      bool usable = true;
      for (const auto& [field, prefix] : rule)
        usable = usable && has(field);
      if (usable) blocking.push_back(rule);
    }
    if (blocking.empty())
      for (auto field : fields)
        blocking.push_back({{field, 0}});
  }
  for (const auto& rule : blocking) {
    BlockingRule r;
    for (const auto& [field, prefix] : rule)
      r.keys.push_back({attribute_of(field), prefix});
    settings.blocking.push_back(r);
  }
  settings.threshold = spec.threshold;
  settings.max_block_size = spec.max_block_size;
  settings.max_cluster_size = spec.max_cluster_size;
  settings.u_samples = spec.u_samples;
  settings.seed = spec.seed;
  settings.threads = spec.threads;
  return settings;
}

/// Appends the records of `tables` to `resolution` (normalising, hashing keys when salted).
inline void ingest(Resolution& resolution, const std::vector<SourceRecords>& tables) {
  const auto& spec = resolution.spec;
  // Every table must belong to a described source; check all before reading any.
  std::vector<std::uint16_t> source_of(tables.size());
  for (std::size_t t = 0; t < tables.size(); ++t) {
    std::size_t s = 0;
    while (s < spec.sources.size() && spec.sources[s].name != tables[t].source)
      ++s;
    if (s == spec.sources.size())
      throw NotFound("records were given for source '" + tables[t].source +
                     "', which the mapping does not describe");
    for (std::size_t u = 0; u < t; ++u)
      if (tables[u].source == tables[t].source)
        throw InvalidArgument("source '" + tables[t].source + "' is given twice");
    check_source(spec.sources[s], tables[t]);
    source_of[t] = static_cast<std::uint16_t>(s);
  }
  auto& report = resolution.report;
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const auto& table = tables[t];
    const auto s = source_of[t];
    const auto& mapping = spec.sources[s];
    const auto& ids = table.find(mapping.record_id)->text;
    const SourceColumn* updated =
        mapping.updated_at.empty() ? nullptr : table.find(mapping.updated_at);
    std::vector<std::pair<std::size_t, const SourceColumn*>> columns;  // attribute, column
    for (const auto& field : mapping.fields) {
      const auto attribute = static_cast<std::size_t>(
          std::find(resolution.fields.begin(), resolution.fields.end(), field.field) -
          resolution.fields.begin());
      columns.emplace_back(attribute, table.find(field.column));
    }
    const std::size_t rows = table.rows();
    // Rejections in the order of a row-by-row pass: (row, 0 for the row itself and its
    // updated-at, 1 + column for a column), sorted before they are reported.
    std::vector<std::tuple<std::size_t, std::size_t, RejectedRecord>> rejections;
    std::vector<std::uint32_t> accepted;  // rows kept, in order
    accepted.reserve(rows);
    resolution.index.reserve(resolution.index.size() + rows);
    std::string key;
    for (std::size_t row = 0; row < rows; ++row) {
      const std::string_view id = detail::trim(ids[row]);
      if (id.empty() || !cxlens::detail::valid_utf8(id)) {
        rejections.emplace_back(row, 0,
                                RejectedRecord{mapping.name, row, mapping.record_id,
                                               id.empty() ? "missing_record_id" : "invalid_text"});
        continue;
      }
      const auto index = static_cast<std::uint32_t>(resolution.source.size());
      key.assign(reinterpret_cast<const char*>(&s), sizeof s);
      key.append(id);
      const auto code = resolution.index.intern(key);
      if (code != index)
        throw InvalidArgument("source '" + mapping.name + "', column '" + mapping.record_id +
                              "': duplicate record id (rows " +
                              std::to_string(resolution.row[code]) + " and " + std::to_string(row) +
                              ")");
      resolution.source.push_back(s);
      resolution.row.push_back(static_cast<std::uint32_t>(row));
      resolution.record_id.push_back(id);
      Timestamp when = missing_time;
      if (updated) {
        if (updated->holds_time) {
          when = updated->time[row];
        } else if (const auto text = detail::trim(updated->text[row]); !text.empty()) {
          if (auto parsed = parse_iso8601(text))
            when = *parsed;
          else
            rejections.emplace_back(
                row, 0, RejectedRecord{mapping.name, row, mapping.updated_at, "unparseable_time"});
        }
      }
      resolution.updated_at.push_back(when);
      accepted.push_back(static_cast<std::uint32_t>(row));
    }
    // Attributes are independent: each is filled (normalised, hashed, interned in row order,
    // so codes do not depend on threads) by its own task. Each distinct raw value of a column
    // is normalised once.
    std::vector<std::size_t> column_of(resolution.fields.size(), columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c)
      column_of[columns[c].first] = c;
    std::vector<std::vector<std::tuple<std::size_t, std::size_t, RejectedRecord>>>
        column_rejections(resolution.fields.size());
    parallel_tasks(resolution.fields.size(), spec.threads, [&](std::size_t a) {
      auto& attribute = resolution.records.attributes[a];
      auto& display = resolution.display[a];
      attribute.code.reserve(attribute.code.size() + accepted.size());
      if (attribute.values.size() == 0) attribute.values.intern("");
      const std::size_t c = column_of[a];
      if (c == columns.size()) {
        for (std::size_t k = 0; k < accepted.size(); ++k) {
          attribute.push_interned(0);
          display.push_back("");
        }
        return;
      }
      const SourceColumn* column = columns[c].second;
      const auto& field = mapping.fields[c];
      const bool hashed = !spec.salt.empty() && is_key_field(field.field);
      constexpr std::uint32_t invalid = 0xFFFFFFFFu;
      ValueDictionary raw_values;          // distinct raw (trimmed) values of the column
      std::vector<std::uint32_t> code_of;  // their attribute codes (`invalid`: not UTF-8)
      std::string formatted;
      for (const auto row : accepted) {
        std::string_view raw;
        if (column->holds_time) {
          formatted = column->time[row] == missing_time
                          ? std::string()
                          : format_iso8601(column->time[row]).substr(0, 10);
          raw = formatted;
        } else {
          raw = detail::trim(column->text[row]);
        }
        const auto r = raw_values.intern(raw);
        if (r == code_of.size()) {
          std::uint32_t code = 0;
          if (!raw.empty() && !cxlens::detail::valid_utf8(raw)) {
            code = invalid;
          } else if (!raw.empty()) {
            std::string value = field.normalizer(raw);
            if (hashed && !value.empty()) value = hash_identity_key(spec.salt, value);
            code = attribute.values.intern(value);
          }
          code_of.push_back(code);
        }
        const auto code = code_of[r];
        if (code == invalid) {
          column_rejections[a].emplace_back(
              row, 1 + c, RejectedRecord{mapping.name, row, field.column, "invalid_text"});
          attribute.push_interned(0);
          display.push_back("");
          continue;
        }
        attribute.push_interned(code);
        display.push_back(hashed ? std::string_view() : raw);
      }
    });
    for (auto& list : column_rejections)
      for (auto& entry : list)
        rejections.push_back(std::move(entry));
    std::stable_sort(rejections.begin(), rejections.end(), [](const auto& x, const auto& y) {
      if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) < std::get<0>(y);
      return std::get<1>(x) < std::get<1>(y);
    });
    for (auto& entry : rejections)
      add_rejection(report, std::move(std::get<2>(entry)));
  }
}

/// Counts records without any usable value from record `from` on, and throws naming the
/// source and its columns when every record of a source is so (all empty or blocked).
inline void check_usable(Resolution& resolution, std::size_t from) {
  const auto& spec = resolution.spec;
  std::vector<std::size_t> records(spec.sources.size(), 0), usable(spec.sources.size(), 0);
  for (std::size_t i = from; i < resolution.source.size(); ++i) {
    bool any = false;
    for (const auto& attribute : resolution.records.attributes)
      any = any || attribute.code[i] != 0;
    ++records[resolution.source[i]];
    usable[resolution.source[i]] += any;
    resolution.report.unlinkable += !any;
  }
  for (std::size_t s = 0; s < spec.sources.size(); ++s) {
    if (records[s] == 0 || usable[s] > 0) continue;
    std::string names;
    for (const auto& field : spec.sources[s].fields)
      names += (names.empty() ? "'" : ", '") + field.column + "'";
    throw InvalidArgument("source '" + spec.sources[s].name +
                          "': every record is blocked or empty in every identity column (" + names +
                          ")");
  }
}

/// Index of the best record among `candidates` under a survivorship rule.
inline std::uint32_t survivor(const Resolution& resolution, const std::vector<std::uint32_t>& rank,
                              Survivorship rule, std::size_t attribute,
                              const std::vector<std::uint32_t>& candidates) {
  const auto& codes = resolution.records.attributes[attribute].code;
  const auto better = [&](std::uint32_t x, std::uint32_t y, bool recency_first) {
    const auto rx = rank[resolution.source[x]], ry = rank[resolution.source[y]];
    const auto tx = resolution.updated_at[x], ty = resolution.updated_at[y];
    if (recency_first) {
      if (tx != ty) return tx > ty;
      if (rx != ry) return rx < ry;
    } else {
      if (rx != ry) return rx < ry;
      if (tx != ty) return tx > ty;
    }
    return x < y;
  };
  std::uint32_t best = candidates.front();
  if (candidates.size() == 1) return best;
  if (rule == Survivorship::most_frequent) {
    std::map<std::uint32_t, std::size_t> votes;
    for (auto record : candidates)
      ++votes[codes[record]];
    std::size_t top = 0;
    for (const auto& [code, count] : votes)
      top = std::max(top, count);
    bool first = true;
    for (auto record : candidates) {
      if (votes[codes[record]] != top) continue;
      if (first || better(record, best, false)) best = record;
      first = false;
    }
    return best;
  }
  for (auto record : candidates)
    if (better(record, best, rule == Survivorship::most_recent)) best = record;
  return best;
}

}  // namespace detail

/// Resolves the records of every source into customers: validates the specification and the
/// tables (typed errors naming source and column), normalises every mapped column (hashing keys
/// when salted), blocks listed and shared key values, links by the deterministic rules and then
/// the Fellegi–Sunter model, and clusters under the size guard. Customer ids are dense and
/// follow each customer's first record (sources in mapping order, rows in table order).
inline Resolution resolve(const ResolutionSpec& spec, const std::vector<SourceRecords>& tables) {
  validate(spec);
  if (tables.empty()) throw InvalidArgument("no source records were given");
  Resolution resolution;
  resolution.spec = spec;
  resolution.fields = mapped_fields(spec);
  resolution.records.attributes.resize(resolution.fields.size());
  resolution.display.resize(resolution.fields.size());
  for (std::size_t a = 0; a < resolution.fields.size(); ++a) {
    resolution.records.attributes[a].name = std::string(to_string(resolution.fields[a]));
    resolution.records.attributes[a].values.intern("");
  }
  // Tables in mapping order, so record order (and customer ids) follow the mapping.
  std::vector<SourceRecords> ordered;
  for (const auto& source : spec.sources)
    for (const auto& table : tables)
      if (table.source == source.name) ordered.push_back(table);
  for (const auto& table : tables) {
    bool described = false;
    for (const auto& source : spec.sources)
      described = described || table.source == source.name;
    if (!described)
      throw NotFound("records were given for source '" + table.source +
                     "', which the mapping does not describe");
  }
  detail::ingest(resolution, ordered);
  auto& report = resolution.report;
  // Guards on values.
  const std::size_t key_limit =
      spec.max_records_per_key > 0 ? spec.max_records_per_key : spec.max_cluster_size;
  for (std::size_t a = 0; a < resolution.fields.size(); ++a) {
    const auto field = resolution.fields[a];
    std::vector<std::string> listed;
    // Listed values in every form a source's normaliser of the field gives them.
    std::vector<Normalizer> normalizers{default_normalizer(field)};
    for (const auto& source : spec.sources)
      for (const auto& mapping : source.fields)
        if (mapping.field == field) normalizers.push_back(mapping.normalizer);
    for (const auto& [f, values] : spec.blocked_values)
      if (f == field)
        for (const auto& value : values)
          for (const auto& normalizer : normalizers) {
            std::string normalised = normalizer(value);
            if (!spec.salt.empty() && is_key_field(field) && !normalised.empty())
              normalised = hash_identity_key(spec.salt, normalised);
            if (!normalised.empty()) listed.push_back(normalised);
          }
    auto guard =
        block_values(resolution.records.attributes[a], listed, is_key_field(field) ? key_limit : 0);
    if (guard.listed_values + guard.shared_values > 0) report.blocked_values.push_back(guard);
  }
  detail::check_usable(resolution, 0);
  resolution.settings = detail::make_settings(spec, resolution.fields);
  const auto linkage = link_records(resolution.records, resolution.settings);
  resolution.model = linkage.model;
  report.records = resolution.records.size();
  report.candidate_pairs = linkage.candidate_pairs;
  report.skipped_blocks = linkage.skipped_blocks;
  report.shared_keys = linkage.shared_keys;
  report.cut_clusters = linkage.clustering.cuts;
  for (std::size_t r = 0; r < resolution.settings.deterministic.size(); ++r) {
    std::string name = "deterministic:";
    for (std::size_t k = 0; k < resolution.settings.deterministic[r].size(); ++k)
      name += (k ? "+" : "") +
              std::string(to_string(resolution.fields[resolution.settings.deterministic[r][k]]));
    report.matches_by_rule.emplace_back(name, linkage.links_by_rule[r]);
  }
  report.matches_by_rule.emplace_back("probabilistic", linkage.probabilistic_links);
  resolution.customer.assign(linkage.clustering.cluster.begin(), linkage.clustering.cluster.end());
  resolution.next_customer = linkage.clustering.cluster_count;
  report.customers = linkage.clustering.cluster_count;
  std::vector<std::uint32_t> size(linkage.clustering.cluster_count, 0);
  for (auto c : linkage.clustering.cluster)
    ++size[c];
  report.singletons = static_cast<std::size_t>(std::count(size.begin(), size.end(), 1u));
  return resolution;
}

/// Links the records of `tables` (new records of described sources) to the customers of
/// `resolution` without re-resolving: the model, the guards and every existing id stay; a new
/// record joins the customer it links to, new customers get new ids, and when new records
/// bridge existing customers they merge into the smallest id (reported in
/// `report.merged_customers`) unless the size guard forbids it. Returns the report of this run.
inline ResolveReport resolve_more(Resolution& resolution,
                                  const std::vector<SourceRecords>& tables) {
  if (tables.empty()) throw InvalidArgument("no source records were given");
  const std::size_t old_n = resolution.records.size();
  resolution.report = ResolveReport{};
  detail::ingest(resolution, tables);
  detail::check_usable(resolution, old_n);
  auto& report = resolution.report;
  const std::size_t n = resolution.records.size();
  const auto& settings = resolution.settings;
  const auto& records = resolution.records;
  // Candidate links of each new record: deterministic groups and blocking groups.
  std::vector<Link> links;
  std::vector<std::size_t> by_rule(settings.deterministic.size(), 0);
  for (std::size_t r = 0; r < settings.deterministic.size(); ++r) {
    std::unordered_map<std::string, std::uint32_t> first;
    std::unordered_map<std::string, std::size_t> group_size;
    std::string key;
    const auto key_of = [&](std::uint32_t i) {
      key.clear();
      for (auto attribute : settings.deterministic[r]) {
        const auto code = records.attributes[attribute].code[i];
        if (code == 0) return false;
        key.append(reinterpret_cast<const char*>(&code), sizeof code);
      }
      return true;
    };
    for (std::uint32_t i = 0; i < n; ++i)
      if (key_of(i)) {
        ++group_size[key];
        first.emplace(key, i);
      }
    for (std::uint32_t i = static_cast<std::uint32_t>(old_n); i < n; ++i) {
      if (!key_of(i)) continue;
      const auto anchor = first[key];
      if (anchor == i) continue;
      if (settings.max_cluster_size > 0 && group_size[key] > settings.max_cluster_size) continue;
      links.push_back(
          {anchor, i, std::numeric_limits<double>::infinity(), static_cast<std::uint16_t>(r)});
      ++by_rule[r];
    }
  }
  std::vector<std::vector<std::uint64_t>> keys;
  for (const auto& rule : settings.blocking)
    keys.push_back(blocking_keys(records, rule));
  std::size_t probabilistic = 0, compared = 0;
  const auto table = level_weights(resolution.model);
  for (std::size_t r = 0; r < keys.size(); ++r) {
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> groups;
    for (std::uint32_t i = 0; i < n; ++i)
      if (keys[r][i] != 0) groups[keys[r][i]].push_back(i);
    for (std::uint32_t i = static_cast<std::uint32_t>(old_n); i < n; ++i) {
      if (keys[r][i] == 0) continue;
      const auto& group = groups[keys[r][i]];
      if (group.size() > settings.max_block_size) continue;
      for (auto j : group) {
        if (j >= i) break;  // pairs of two new records are seen from the later one
        bool earlier = false;
        for (std::size_t q = 0; q < r && !earlier; ++q)
          earlier = keys[q][i] != 0 && keys[q][i] == keys[q][j];
        if (earlier) continue;
        ++compared;
        const auto pattern = compare_records(records, settings.comparisons, j, i);
        const double weight = match_weight(resolution.model, table, records, pattern, j);
        if (match_probability(weight) < settings.threshold) continue;
        links.push_back({j, i, weight, probabilistic_rule});
        ++probabilistic;
      }
    }
  }
  report.candidate_pairs = compared;
  for (std::size_t r = 0; r < settings.deterministic.size(); ++r) {
    std::string name = "deterministic:";
    for (std::size_t k = 0; k < settings.deterministic[r].size(); ++k)
      name +=
          (k ? "+" : "") + std::string(to_string(resolution.fields[settings.deterministic[r][k]]));
    report.matches_by_rule.emplace_back(name, by_rule[r]);
  }
  report.matches_by_rule.emplace_back("probabilistic", probabilistic);

  // Nodes: existing customers touched by a link, then the new records.
  std::unordered_map<std::uint64_t, std::uint32_t> node_of_customer;
  std::vector<std::uint64_t> node_customer;  // customer id of customer nodes
  std::unordered_map<std::uint64_t, std::uint32_t> customer_size;
  for (std::size_t i = 0; i < old_n; ++i)
    ++customer_size[resolution.customer[i]];
  const auto node = [&](std::uint32_t record) -> std::uint32_t {
    if (record >= old_n) return static_cast<std::uint32_t>(record - old_n);
    const auto id = resolution.customer[record];
    const auto [place, inserted] =
        node_of_customer.emplace(id, static_cast<std::uint32_t>(n - old_n + node_customer.size()));
    if (inserted) node_customer.push_back(id);
    return place->second;
  };
  for (const auto& link : links)
    node(link.a), node(link.b);
  const std::size_t nodes = n - old_n + node_customer.size();
  std::vector<std::uint32_t> parent(nodes), weight(nodes, 1);
  std::vector<std::uint64_t> owner(nodes, std::numeric_limits<std::uint64_t>::max());
  for (std::uint32_t v = 0; v < nodes; ++v)
    parent[v] = v;
  for (std::size_t c = 0; c < node_customer.size(); ++c) {
    const auto v = static_cast<std::uint32_t>(n - old_n + c);
    owner[v] = node_customer[c];
    weight[v] = customer_size[node_customer[c]];
  }
  const auto find = [&](std::uint32_t v) {
    while (parent[v] != v)
      v = parent[v] = parent[parent[v]];
    return v;
  };
  std::sort(links.begin(), links.end(), [](const Link& x, const Link& y) {
    if (x.weight != y.weight) return x.weight > y.weight;
    if (x.a != y.a) return x.a < y.a;
    return x.b < y.b;
  });
  std::uint32_t dropped = 0;
  for (const auto& link : links) {
    auto x = find(node(link.a)), y = find(node(link.b));
    if (x == y) continue;
    if (settings.max_cluster_size > 0 && weight[x] + weight[y] > settings.max_cluster_size) {
      ++dropped;
      continue;
    }
    if (owner[y] < owner[x]) std::swap(x, y);
    parent[y] = x;
    weight[x] += weight[y];
    if (owner[y] != std::numeric_limits<std::uint64_t>::max() &&
        owner[x] != std::numeric_limits<std::uint64_t>::max())
      report.merged_customers.emplace_back(owner[y], owner[x]);
    owner[x] = std::min(owner[x], owner[y]);
  }
  if (dropped > 0)
    report.cut_clusters.push_back({static_cast<std::uint32_t>(old_n), 0, 0, dropped});
  // Absorbed customers take the survivor's id (follow chains of merges).
  std::unordered_map<std::uint64_t, std::uint64_t> renamed;
  for (const auto& [from, to] : report.merged_customers)
    renamed[from] = to;
  const auto final_id = [&](std::uint64_t id) {
    for (auto found = renamed.find(id); found != renamed.end(); found = renamed.find(id))
      id = found->second;
    return id;
  };
  if (!renamed.empty())
    for (std::size_t i = 0; i < old_n; ++i)
      resolution.customer[i] = final_id(resolution.customer[i]);
  std::unordered_map<std::uint32_t, std::uint64_t> new_ids;
  for (std::size_t i = old_n; i < n; ++i) {
    const auto root = find(static_cast<std::uint32_t>(i - old_n));
    std::uint64_t id = owner[root];
    if (id == std::numeric_limits<std::uint64_t>::max()) {
      const auto [place, inserted] = new_ids.emplace(root, resolution.next_customer);
      if (inserted) ++resolution.next_customer;
      id = place->second;
    } else {
      id = final_id(id);
    }
    resolution.customer.push_back(id);
  }
  report.records = n - old_n;
  report.customers = new_ids.size();
  return report;
}

/// A customer's golden record: each field's surviving value and where it came from.
struct GoldenRecords {
  std::vector<std::uint64_t> customer;  ///< Customer ids, ascending.
  std::vector<IdentityField> fields;    ///< The fields (columns of `value`).
  /// Per field: the surviving value of each customer ("" when no record has one). Salted hashes
  /// when the specification asks for hashed outputs (and for keys hashed at ingestion).
  std::vector<std::vector<std::string>> value;
  /// Per field: the record (index into the resolution's records) the value came from, or
  /// `no_record`.
  std::vector<std::vector<std::uint32_t>> record;
  /// Per customer: number of source records.
  std::vector<std::uint32_t> record_count;
  /// Marks a field no record of the customer has.
  static constexpr std::uint32_t no_record = std::numeric_limits<std::uint32_t>::max();
};

/// Golden records of every customer under the survivorship rules: source priority follows the
/// mapping's source order. Values are as written (trimmed) for fields that are not hashed.
inline GoldenRecords golden_records(const Resolution& resolution) {
  const auto& spec = resolution.spec;
  GoldenRecords golden;
  golden.fields = resolution.fields;
  std::vector<std::uint32_t> rank(spec.sources.size());
  for (std::size_t s = 0; s < rank.size(); ++s)
    rank[s] = static_cast<std::uint32_t>(s);
  // Records grouped by customer (ascending ids; records ascending within a customer) by a
  // counting sort: customer ids are below `next_customer`.
  const std::size_t n = resolution.customer.size();
  std::uint64_t id_bound = resolution.next_customer;
  for (auto id : resolution.customer)
    id_bound = std::max(id_bound, id + 1);
  std::vector<std::uint32_t> start(static_cast<std::size_t>(id_bound) + 1, 0);
  for (auto id : resolution.customer)
    ++start[static_cast<std::size_t>(id) + 1];
  for (std::size_t c = 1; c < start.size(); ++c)
    start[c] += start[c - 1];
  std::vector<std::uint32_t> order(n);
  {
    std::vector<std::uint32_t> next(start.begin(), start.end() - 1);
    for (std::uint32_t i = 0; i < n; ++i)
      order[next[static_cast<std::size_t>(resolution.customer[i])]++] = i;
  }
  golden.value.resize(golden.fields.size());
  golden.record.resize(golden.fields.size());
  std::vector<Survivorship> rules(golden.fields.size(), spec.survivorship);
  for (std::size_t a = 0; a < golden.fields.size(); ++a)
    for (const auto& [field, r] : spec.field_survivorship)
      if (field == golden.fields[a]) rules[a] = r;
  std::vector<std::uint32_t> records, candidates;
  for (std::uint64_t id = 0; id < id_bound; ++id) {
    const auto begin = start[static_cast<std::size_t>(id)];
    const auto end = start[static_cast<std::size_t>(id) + 1];
    if (begin == end) continue;
    records.assign(order.begin() + begin, order.begin() + end);
    golden.customer.push_back(id);
    golden.record_count.push_back(static_cast<std::uint32_t>(records.size()));
    for (std::size_t a = 0; a < golden.fields.size(); ++a) {
      const auto& attribute = resolution.records.attributes[a];
      candidates.clear();
      for (auto record : records)
        if (attribute.code[record] != 0) candidates.push_back(record);
      if (candidates.empty()) {
        golden.value[a].emplace_back();
        golden.record[a].push_back(GoldenRecords::no_record);
        continue;
      }
      const auto best = detail::survivor(resolution, rank, rules[a], a, candidates);
      const auto normalised = attribute.value(attribute.code[best]);
      const bool hashed_at_ingestion = !spec.salt.empty() && is_key_field(golden.fields[a]);
      std::string value;
      if (hashed_at_ingestion)
        value = std::string(normalised);
      else if (spec.hash_outputs)
        value = hash_identity_key(spec.salt, normalised);
      else
        value = std::string(resolution.display[a][best]);
      golden.value[a].push_back(std::move(value));
      golden.record[a].push_back(best);
    }
  }
  return golden;
}

/// The record id as outputs may show it: a salted hash when hashed outputs are asked for.
inline std::string output_record_id(const Resolution& resolution, std::uint32_t record) {
  const auto id = resolution.record_id[record];
  return resolution.spec.hash_outputs ? hash_identity_key(resolution.spec.salt, id)
                                      : std::string(id);
}

/// One source's events, keyed by that source's record ids (the event log's customer keys).
struct SourceEvents {
  std::string source;                ///< The source's name, as in the mapping.
  const EventLog* events = nullptr;  ///< Its events.
};

/// One event log of every source's events keyed by resolved customer (customer keys are the
/// customer ids in decimal, flagged as integer keys). Channels, event types and cases are
/// united by name. Events whose record is unknown are rejected as `missing_customer` in the
/// log's rejection account (never thrown), so every input event is accounted for.
inline EventLog unify_events(const Resolution& resolution,
                             const std::vector<SourceEvents>& sources) {
  EventLog unified;
  unified.set_integer_customer_keys(true);
  {
    std::vector<std::uint64_t> ids(resolution.customer);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (auto id : ids)
      unified.add_customer(std::to_string(id));
  }
  std::uint64_t first_row = 0;
  RejectionReport account;
  for (const auto& entry : sources) {
    if (!entry.events) throw InvalidArgument("source '" + entry.source + "': no event log given");
    std::size_t s = 0;
    while (s < resolution.spec.sources.size() && resolution.spec.sources[s].name != entry.source)
      ++s;
    if (s == resolution.spec.sources.size())
      throw NotFound("events were given for source '" + entry.source +
                     "', which the mapping does not describe");
    const EventLog& log = *entry.events;
    std::vector<CustomerId> customer_map(log.customers().size(), no_customer);
    for (std::uint32_t c = 0; c < customer_map.size(); ++c) {
      const auto found = resolution.index.find(
          detail::record_key(static_cast<std::uint16_t>(s), log.customers().name(c)));
      if (found != ValueDictionary::npos)
        customer_map[c] = unified.add_customer(std::to_string(resolution.customer[found]));
    }
    std::vector<ChannelId> channel_map(log.channels().size());
    for (std::size_t i = 0; i < channel_map.size(); ++i)
      channel_map[i] = unified.add_channel(log.channels()[i]);
    std::vector<EventTypeId> type_map(log.event_types().size());
    for (std::size_t i = 0; i < type_map.size(); ++i)
      type_map[i] = unified.add_event_type(log.event_types()[i]);
    std::vector<CaseId> case_map(log.cases().size());
    for (std::size_t i = 0; i < case_map.size(); ++i)
      case_map[i] = unified.add_case(log.cases().name(static_cast<std::uint32_t>(i)));
    const std::size_t n = log.size();
    Column<CustomerId> customer(n);
    Column<ChannelId> channel(n);
    Column<EventTypeId> event_type(n);
    std::vector<std::uint8_t> direction(n), offering(n);
    Column<CaseId> case_id(log.case_column().empty() ? 0 : n);
    for (std::size_t i = 0; i < n; ++i) {
      customer[i] = customer_map[log.customer_column()[i]];
      channel[i] = channel_map[log.channel_column()[i]];
      event_type[i] = type_map[log.event_type_column()[i]];
      direction[i] = log.flags_column()[i] & 1;
      offering[i] = log.flags_column()[i] >> 1 & 7;
      if (!case_id.empty()) {
        const CaseId original = log.case_column()[i];
        case_id[i] = original == no_case ? no_case : case_map[original];
      }
    }
    EventColumns columns;
    columns.customer = customer;
    columns.time = log.time_column();
    columns.channel = channel;
    columns.event_type = event_type;
    columns.value = log.value_column();
    columns.cost = log.cost_column();
    columns.direction = direction;
    columns.offering = offering;
    columns.case_id = case_id;
    columns.score = log.score_column();
    columns.column_names[0] = entry.source + ".record";
    account.merge(unified.append(columns, ErrorPolicy::collect, first_row));
    first_row += n;
  }
  unified.finalize();
  return unified;
}

}  // namespace cxlens::identity
