// Example: resolve the customer records of five simulated source systems (CRM, call center,
// web app, web shop, survey tool) into customers, and score the result against the true person
// behind every record.
//
//   cxlens_example_identity [customers]
//
// The records disagree as real ones do: typos, nicknames, missing and old emails, phone and
// date formats. `resolve` normalises them, links records by deterministic rules and a
// Fellegi-Sunter model (m and u by EM), clusters the links and guards oversized clusters.
#include <cxlens/cxlens.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace id = cxlens::identity;
namespace sim = cxlens::sim;

namespace {

/// A source column holding a simulated text column.
id::SourceColumn column(std::string name, const sim::StringColumn& values) {
  id::SourceColumn out;
  out.name = std::move(name);
  for (std::size_t i = 0; i < values.size(); ++i)
    out.text.push_back(values[i]);
  return out;
}

/// Maps a source column onto a model field with the field's default normaliser.
id::FieldMapping field(id::IdentityField model_field, std::string source_column) {
  id::FieldMapping mapping;
  mapping.field = model_field;
  mapping.column = std::move(source_column);
  mapping.normalizer = id::default_normalizer(model_field);
  return mapping;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    sim::WorldConfig config;
    config.n_customers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2000;
    config.seed = 11;
    const sim::World world = sim::simulate(config);

    // The mapping: per source, which column is which model field, and how to normalise it.
    using F = id::IdentityField;
    id::ResolutionSpec spec;
    std::vector<id::SourceRecords> tables;
    std::vector<std::uint64_t> person;  // the truth, for scoring only
    for (std::size_t s = 0; s < sim::source_system_count; ++s) {
      const sim::SourceTable& table = world.sources[s];
      const auto system = static_cast<sim::SourceSystem>(s);
      const std::string name(sim::to_string(system));
      id::SourceMapping mapping{name, "record_id", {}, "", std::nullopt};
      mapping.fields = {field(F::first_name, "first_name"),
                        field(F::last_name, "last_name"),
                        field(F::email, "email"),
                        field(F::phone, "phone"),
                        field(F::address, "street"),
                        field(F::postcode, "postal_code"),
                        field(F::city, "city"),
                        field(F::date_of_birth, "birth_date")};
      mapping.fields[0].normalizer.nicknames = true;    // "Bill" is "William"
      mapping.fields[3].normalizer.country_code = "1";  // bare phone numbers are American
      mapping.fields[7].normalizer.day_first = system != sim::SourceSystem::web_app;
      spec.sources.push_back(mapping);
      tables.push_back(
          {name,
           {column("record_id", table.record_id), column("first_name", table.first_name),
            column("last_name", table.last_name), column("email", table.email),
            column("phone", table.phone), column("street", table.street),
            column("postal_code", table.postal_code), column("city", table.city),
            column("birth_date", table.birth_date)}});
      person.insert(person.end(), table.person_id.begin(), table.person_id.end());
      std::printf("  %-12s %6zu records\n", name.c_str(), table.record_id.size());
    }
    spec.max_cluster_size = 30;  // guard: no customer of more than 30 records

    const id::Resolution resolution = id::resolve(spec, tables);
    const id::ResolveReport& report = resolution.report;
    std::printf("%zu records -> %zu customers (%zu singletons, %zu candidate pairs compared)\n",
                report.records, report.customers, report.singletons, report.candidate_pairs);
    for (const auto& [rule, links] : report.matches_by_rule)
      std::printf("  links by %-28s %zu\n", rule.c_str(), links);

    // Score against the truth: pairs of records given the same customer vs the same person.
    const std::vector<std::uint32_t> cluster(resolution.customer.begin(),
                                             resolution.customer.end());
    const id::ClusterQuality quality = id::evaluate_clusters(cluster, person);
    std::printf("pairwise precision %.4f recall %.4f F1 %.4f; B-cubed F1 %.4f\n",
                quality.pairs.precision, quality.pairs.recall, quality.pairs.f1, quality.bcubed_f1);

    // Golden records: one surviving value per field and customer, with lineage.
    const id::GoldenRecords golden = id::golden_records(resolution);
    std::printf("%zu golden records\n", golden.customer.size());
    return quality.pairs.f1 >= 0.9 ? 0 : 1;
  } catch (const cxlens::Error& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "unexpected error: %s\n", error.what());
    return 1;
  }
}
