// cxlens._core identity bindings: record linkage (deduplicate, link) and resolution of many
// sources into customers. The Python layer (cxlens.identity) turns DataFrames and mapping
// dictionaries into the plain lists and dictionaries taken here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/identity/identity.hpp>
#include <cxlens/store/event_log.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace cxlens;
using namespace cxlens::identity;

namespace cxlens::python {

namespace {

/// A text column from Arrow string buffers: a tuple (offsets: int32 or int64 array of rows + 1
/// entries, chars: uint8 array), nulls given as empty values. Errors name `what`.
TextColumn arrow_text_column(const py::tuple& buffers, const std::string& what) {
  if (buffers.size() != 2)
    throw InvalidArgument(what + ": Arrow text needs (offsets, characters) buffers");
  const auto chars = buffers[1].cast<py::array_t<std::uint8_t, py::array::c_style>>();
  const auto offsets = py::reinterpret_borrow<py::array>(buffers[0]);
  TextColumn column;
  const auto check = [&](auto* data, std::size_t n) {
    if (n == 0) throw InvalidArgument(what + ": Arrow offsets are empty");
    for (std::size_t i = 1; i < n; ++i)
      if (data[i] < data[i - 1]) throw InvalidArgument(what + ": Arrow offsets decrease");
    if (data[0] < 0 ||
        static_cast<std::size_t>(data[n - 1]) > static_cast<std::size_t>(chars.size()))
      throw InvalidArgument(what + ": Arrow offsets run past the characters");
    column.append_buffers(reinterpret_cast<const char*>(chars.data()), data, n - 1);
  };
  if (offsets.dtype().is(py::dtype::of<std::int64_t>())) {
    const auto o = offsets.cast<py::array_t<std::int64_t, py::array::c_style>>();
    check(o.data(), static_cast<std::size_t>(o.size()));
  } else if (offsets.dtype().is(py::dtype::of<std::int32_t>())) {
    const auto o = offsets.cast<py::array_t<std::int32_t, py::array::c_style>>();
    check(o.data(), static_cast<std::size_t>(o.size()));
  } else {
    throw TypeMismatch(what + ": Arrow offsets must be int32 or int64");
  }
  return column;
}

/// Arrow string buffers (offsets int64, characters uint8) of a text column, for
/// pyarrow.LargeStringArray.from_buffers.
py::tuple text_buffers(const TextColumn& column) {
  const auto& offsets = column.offsets();
  py::array_t<std::int64_t> o(static_cast<py::ssize_t>(offsets.size()));
  std::copy(offsets.begin(), offsets.end(), o.mutable_data());
  py::array_t<std::uint8_t> c(static_cast<py::ssize_t>(column.chars().size()));
  std::copy(column.chars().begin(), column.chars().end(),
            reinterpret_cast<char*>(c.mutable_data()));
  return py::make_tuple(o, c);
}

/// A text column from a Python sequence of str (None or NaN: missing), or from Arrow buffers
/// (see `arrow_text_column`). Errors name `what`.
TextColumn text_column(py::handle values, const std::string& what) {
  if (py::isinstance<py::tuple>(values))
    return arrow_text_column(py::reinterpret_borrow<py::tuple>(values), what);
  PyObject* fast = PySequence_Fast(values.ptr(), "a column must be a sequence");
  if (!fast) throw py::error_already_set();
  py::object owner = py::reinterpret_steal<py::object>(fast);
  const auto n = PySequence_Fast_GET_SIZE(fast);
  PyObject** items = PySequence_Fast_ITEMS(fast);
  TextColumn column;
  column.reserve(static_cast<std::size_t>(n), static_cast<std::size_t>(n) * 12);
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = items[i];
    if (PyUnicode_Check(item)) {
      Py_ssize_t size = 0;
      const char* data = PyUnicode_AsUTF8AndSize(item, &size);
      if (!data) {
        PyErr_Clear();  // unencodable (lone surrogates): no usable value
        column.push_back({});
        continue;
      }
      column.push_back(std::string_view(data, static_cast<std::size_t>(size)));
    } else if (item == Py_None || (PyFloat_Check(item) && std::isnan(PyFloat_AS_DOUBLE(item))) ||
               std::string_view(Py_TYPE(item)->tp_name) == "NAType") {
      column.push_back({});
    } else {
      throw TypeMismatch(what + ": holds a value that is not text (row " + std::to_string(i) + ")");
    }
  }
  return column;
}

Comparison comparison_from(const py::dict& spec) {
  Comparison comparison;
  for (const auto& level : spec["levels"].cast<std::vector<std::pair<std::string, double>>>()) {
    ComparisonLevel l;
    if (level.first == "exact")
      l.kind = LevelKind::exact;
    else if (level.first == "jaro_winkler")
      l.kind = LevelKind::jaro_winkler;
    else if (level.first == "levenshtein")
      l.kind = LevelKind::levenshtein;
    else
      throw InvalidArgument("comparison level '" + level.first +
                            "' is not exact, jaro_winkler or levenshtein");
    l.threshold = level.second;
    comparison.levels.push_back(l);
  }
  comparison.term_frequency = spec.contains("tf") && spec["tf"].cast<bool>();
  return comparison;
}

Normalizer normalizer_from(const py::dict& spec) {
  Normalizer normalizer;
  normalizer.kind = parse_normalizer_kind(spec["kind"].cast<std::string>());
  if (spec.contains("nicknames")) normalizer.nicknames = spec["nicknames"].cast<bool>();
  if (spec.contains("provider_rules"))
    normalizer.provider_rules = spec["provider_rules"].cast<bool>();
  if (spec.contains("country_code"))
    normalizer.country_code = spec["country_code"].cast<std::string>();
  if (spec.contains("day_first")) normalizer.day_first = spec["day_first"].cast<bool>();
  return normalizer;
}

py::dict model_to_dict(const LinkageModel& model, const std::vector<std::string>& names) {
  py::dict result;
  result["prior"] = model.prior;
  result["em_iterations"] = model.em_iterations;
  result["converged"] = model.converged;
  py::dict attributes;
  for (std::size_t k = 0; k < model.attributes.size() && k < names.size(); ++k) {
    if (model.comparisons[k].levels.empty()) continue;
    py::dict entry;
    entry["m"] = model.attributes[k].m;
    entry["u"] = model.attributes[k].u;
    attributes[py::str(names[k])] = entry;
  }
  result["attributes"] = attributes;
  return result;
}

py::list cuts_to_list(const std::vector<CutCluster>& cuts) {
  py::list list;
  for (const auto& cut : cuts) {
    py::dict entry;
    entry["first_record"] = cut.first_record;
    entry["size"] = cut.size;
    entry["pieces"] = cut.pieces;
    entry["links_dropped"] = cut.links_dropped;
    list.append(entry);
  }
  return list;
}

py::dict report_to_dict(const Resolution& resolution) {
  const auto& report = resolution.report;
  py::dict result;
  result["records"] = report.records;
  result["customers"] = report.customers;
  result["singletons"] = report.singletons;
  result["candidate_pairs"] = report.candidate_pairs;
  py::dict rules;
  for (const auto& [name, count] : report.matches_by_rule)
    rules[py::str(name)] = count;
  result["matches_by_rule"] = rules;
  py::list guards;
  for (const auto& guard : report.blocked_values) {
    py::dict entry;
    entry["field"] = guard.attribute;
    entry["listed_values"] = guard.listed_values;
    entry["shared_values"] = guard.shared_values;
    entry["records_affected"] = guard.records_affected;
    entry["largest_shared"] = guard.largest_shared;
    guards.append(entry);
  }
  result["blocked_values"] = guards;
  py::list shared;
  for (const auto& guard : report.shared_keys) {
    py::dict entry;
    entry["rule"] = report.matches_by_rule.at(guard.rule).first;
    entry["groups"] = guard.groups;
    entry["records"] = guard.records;
    entry["largest"] = guard.largest;
    shared.append(entry);
  }
  result["shared_keys"] = shared;
  result["cut_clusters"] = cuts_to_list(report.cut_clusters);
  result["skipped_blocks"] = report.skipped_blocks;
  py::list rejected;
  for (const auto& r : report.rejected)
    rejected.append(py::make_tuple(r.source, r.row, r.column, r.reason));
  result["rejected"] = rejected;
  result["rejected_count"] = report.rejected_count;
  result["unlinkable"] = report.unlinkable;
  result["merged_customers"] = report.merged_customers;
  std::vector<std::string> names;
  for (auto field : resolution.fields)
    names.emplace_back(to_string(field));
  result["model"] = model_to_dict(resolution.model, names);
  return result;
}

ResolutionSpec spec_from(const py::dict& d) {
  ResolutionSpec spec;
  for (const auto& item : d["sources"].cast<py::list>()) {
    const auto s = item.cast<py::dict>();
    SourceMapping source;
    source.name = s["name"].cast<std::string>();
    source.record_id = s["record_id"].cast<std::string>();
    if (s.contains("updated_at") && !s["updated_at"].is_none())
      source.updated_at = s["updated_at"].cast<std::string>();
    for (const auto& f : s["fields"].cast<py::list>()) {
      const auto fd = f.cast<py::dict>();
      FieldMapping mapping;
      const auto field_name = fd["field"].cast<std::string>();
      try {
        mapping.field = parse_identity_field(field_name);
      } catch (const NotFound& error) {
        throw NotFound("source '" + source.name + "': " + error.what());
      }
      mapping.column = fd["column"].cast<std::string>();
      mapping.normalizer = fd.contains("normalizer") && !fd["normalizer"].is_none()
                               ? normalizer_from(fd["normalizer"].cast<py::dict>())
                               : default_normalizer(mapping.field);
      source.fields.push_back(mapping);
    }
    if (s.contains("events") && !s["events"].is_none()) {
      const auto e = s["events"].cast<py::dict>();
      EventMapping events;
      const auto get = [&](const char* key) {
        return e.contains(key) && !e[key].is_none() ? e[key].cast<std::string>() : std::string();
      };
      events.record = get("record"), events.time = get("time"), events.channel = get("channel");
      events.channel_constant = get("channel_constant"), events.event = get("event");
      events.event_constant = get("event_constant"), events.value = get("value");
      events.cost = get("cost"), events.direction = get("direction");
      events.offering = get("offering"), events.case_id = get("case_id");
      events.score = get("score");
      source.events = events;
    }
    spec.sources.push_back(source);
  }
  const auto fields_of = [](const std::vector<std::string>& names, const std::string& where) {
    std::vector<IdentityField> fields;
    for (const auto& name : names) {
      try {
        fields.push_back(parse_identity_field(name));
      } catch (const NotFound& error) {
        throw NotFound(where + ": " + error.what());
      }
    }
    return fields;
  };
  if (d.contains("deterministic") && !d["deterministic"].is_none()) {
    const auto rules = d["deterministic"].cast<std::vector<std::vector<std::string>>>();
    for (std::size_t r = 0; r < rules.size(); ++r)
      spec.deterministic.push_back(fields_of(rules[r], "deterministic rule " + std::to_string(r)));
    spec.default_deterministic = false;
  }
  if (d.contains("blocking") && !d["blocking"].is_none()) {
    const auto rules =
        d["blocking"].cast<std::vector<std::vector<std::pair<std::string, std::size_t>>>>();
    for (std::size_t r = 0; r < rules.size(); ++r) {
      FieldBlockingRule rule;
      for (const auto& [name, prefix] : rules[r])
        rule.emplace_back(fields_of({name}, "blocking rule " + std::to_string(r)).front(), prefix);
      spec.blocking.push_back(rule);
    }
  }
  if (d.contains("comparisons"))
    for (const auto& [name, value] : d["comparisons"].cast<py::dict>())
      spec.comparisons.emplace_back(fields_of({name.cast<std::string>()}, "comparisons").front(),
                                    comparison_from(value.cast<py::dict>()));
  if (d.contains("blocked_values"))
    for (const auto& [name, value] : d["blocked_values"].cast<py::dict>())
      spec.blocked_values.emplace_back(
          fields_of({name.cast<std::string>()}, "blocked_values").front(),
          value.cast<std::vector<std::string>>());
  if (d.contains("survivorship"))
    spec.survivorship = parse_survivorship(d["survivorship"].cast<std::string>());
  if (d.contains("field_survivorship"))
    for (const auto& [name, value] : d["field_survivorship"].cast<py::dict>())
      spec.field_survivorship.emplace_back(
          fields_of({name.cast<std::string>()}, "survivorship").front(),
          parse_survivorship(value.cast<std::string>()));
  if (d.contains("threshold")) spec.threshold = d["threshold"].cast<double>();
  if (d.contains("max_cluster_size"))
    spec.max_cluster_size = d["max_cluster_size"].cast<std::size_t>();
  if (d.contains("max_records_per_key"))
    spec.max_records_per_key = d["max_records_per_key"].cast<std::size_t>();
  if (d.contains("max_block_size")) spec.max_block_size = d["max_block_size"].cast<std::size_t>();
  if (d.contains("u_samples")) spec.u_samples = d["u_samples"].cast<std::size_t>();
  if (d.contains("seed")) spec.seed = d["seed"].cast<std::uint64_t>();
  if (d.contains("threads")) spec.threads = d["threads"].cast<unsigned>();
  if (d.contains("salt") && !d["salt"].is_none()) spec.salt = d["salt"].cast<std::string>();
  if (d.contains("hash_outputs")) spec.hash_outputs = d["hash_outputs"].cast<bool>();
  return spec;
}

std::vector<SourceRecords> tables_from(const py::list& tables) {
  std::vector<SourceRecords> result;
  for (const auto& item : tables) {
    const auto pair = item.cast<py::tuple>();
    SourceRecords records;
    records.source = pair[0].cast<std::string>();
    for (const auto& [name, values] : pair[1].cast<py::dict>()) {
      SourceColumn column;
      column.name = name.cast<std::string>();
      const std::string what = "source '" + records.source + "', column '" + column.name + "'";
      if (py::isinstance<py::array>(values) &&
          py::reinterpret_borrow<py::array>(values).dtype().kind() == 'i') {
        const auto times = values.cast<py::array_t<std::int64_t, py::array::c_style>>();
        column.holds_time = true;
        column.time.assign(times.data(), times.data() + times.size());
      } else {
        column.text = text_column(values, what);
      }
      records.columns.push_back(std::move(column));
    }
    result.push_back(std::move(records));
  }
  return result;
}

}  // namespace

void bind_identity(py::module_& m) {
  m.def(
      "identity_link",
      [](const std::vector<std::string>& names, const py::list& columns,
         const std::vector<py::dict>& normalizers, const std::vector<py::dict>& comparisons,
         std::optional<py::array_t<std::uint8_t, py::array::c_style>> side,
         const std::vector<std::vector<std::pair<std::size_t, std::size_t>>>& blocking,
         const std::vector<std::vector<std::size_t>>& deterministic, double threshold,
         std::size_t max_block_size, std::size_t max_cluster_size, std::size_t u_samples,
         std::uint64_t seed, unsigned threads) {
        if (names.size() != columns.size() || names.size() != normalizers.size() ||
            names.size() != comparisons.size())
          throw InvalidArgument("identity_link needs one normaliser and comparison per column");
        std::vector<TextColumn> normalised(names.size());
        std::vector<Normalizer> norms;
        for (std::size_t k = 0; k < names.size(); ++k)
          norms.push_back(normalizer_from(normalizers[k]));
        std::vector<TextColumn> raw;
        for (std::size_t k = 0; k < names.size(); ++k)
          raw.push_back(text_column(columns[k], "column '" + names[k] + "'"));
        LinkageSettings settings;
        for (const auto& c : comparisons)
          settings.comparisons.push_back(comparison_from(c));
        for (const auto& rule : blocking) {
          BlockingRule r;
          for (const auto& [attribute, prefix] : rule)
            r.keys.push_back({attribute, prefix});
          settings.blocking.push_back(r);
        }
        settings.deterministic = deterministic;
        settings.threshold = threshold;
        settings.max_block_size = max_block_size;
        settings.max_cluster_size = max_cluster_size;
        settings.u_samples = u_samples;
        settings.seed = seed;
        settings.threads = threads;
        LinkageResult result;
        std::vector<std::uint8_t> sides;
        if (side) sides.assign(side->data(), side->data() + side->size());
        {
          py::gil_scoped_release release;
          // Columns are normalised in parallel; each column's result is the same either way.
          identity::detail::parallel_tasks(names.size(), threads, [&](std::size_t k) {
            normalised[k].reserve(raw[k].size(), raw[k].size() * 10);
            for (std::size_t i = 0; i < raw[k].size(); ++i)
              normalised[k].push_back(norms[k](raw[k][i]));
            raw[k] = TextColumn();
          });
          auto records = make_records(names, normalised);
          normalised.clear();
          records.side = std::move(sides);
          result = link_records(records, settings);
        }
        const std::size_t links = result.links.size();
        py::array_t<std::uint32_t> first(static_cast<py::ssize_t>(links)),
            second(static_cast<py::ssize_t>(links));
        py::array_t<double> weight(static_cast<py::ssize_t>(links)),
            probability(static_cast<py::ssize_t>(links));
        py::array_t<std::int32_t> rule(static_cast<py::ssize_t>(links));
        for (std::size_t i = 0; i < links; ++i) {
          first.mutable_data()[i] = result.links[i].a;
          second.mutable_data()[i] = result.links[i].b;
          weight.mutable_data()[i] = result.links[i].weight;
          probability.mutable_data()[i] = result.probability[i];
          rule.mutable_data()[i] = result.links[i].rule == probabilistic_rule
                                       ? -1
                                       : static_cast<std::int32_t>(result.links[i].rule);
        }
        py::array_t<std::uint32_t> cluster(
            static_cast<py::ssize_t>(result.clustering.cluster.size()));
        std::copy(result.clustering.cluster.begin(), result.clustering.cluster.end(),
                  cluster.mutable_data());
        py::dict out;
        out["first"] = first;
        out["second"] = second;
        out["weight"] = weight;
        out["probability"] = probability;
        out["rule"] = rule;
        out["cluster"] = cluster;
        out["cluster_count"] = result.clustering.cluster_count;
        out["cut_clusters"] = cuts_to_list(result.clustering.cuts);
        out["candidate_pairs"] = result.candidate_pairs;
        out["links_by_rule"] = result.links_by_rule;
        out["probabilistic_links"] = result.probabilistic_links;
        out["skipped_blocks"] = result.skipped_blocks;
        out["model"] = model_to_dict(result.model, names);
        return out;
      },
      py::arg("names"), py::arg("columns"), py::arg("normalizers"), py::arg("comparisons"),
      py::arg("side"), py::arg("blocking"), py::arg("deterministic"), py::arg("threshold"),
      py::arg("max_block_size"), py::arg("max_cluster_size"), py::arg("u_samples"), py::arg("seed"),
      py::arg("threads"), "Normalises, blocks, fits a Fellegi-Sunter model and clusters records.");

  m.def(
      "identity_normalize",
      [](const py::dict& normalizer, const std::string& text) {
        return normalizer_from(normalizer)(text);
      },
      py::arg("normalizer"), py::arg("text"), "The normalised form of one value.");
  m.def("jaro_winkler", &jaro_winkler, py::arg("a"), py::arg("b"),
        "Jaro-Winkler similarity of two strings, in [0, 1].");
  m.def(
      "levenshtein", [](std::string_view a, std::string_view b) { return levenshtein(a, b); },
      py::arg("a"), py::arg("b"), "Levenshtein edit distance of two strings (in code points).");
  m.def(
      "identity_fields",
      [] {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < identity_field_count; ++i)
          names.emplace_back(to_string(static_cast<IdentityField>(i)));
        return names;
      },
      "Names of the identity model fields (IdentityField), by code.");

  py::class_<Resolution>(m, "IdentityResolution",
                         "The state of a resolution (use cxlens.identity.resolve).")
      .def(
          "copy", [](const Resolution& r) { return Resolution(r); },
          "A deep copy of the resolution.")
      .def("report", &report_to_dict,
           "Counts of what the run did (records, pairs, links, clusters cut ...) as a dict.")
      .def(
          "golden",
          [](const Resolution& r) {
            // Columns as arrays and Arrow buffers: no Python object per customer.
            GoldenRecords golden;
            {
              py::gil_scoped_release release;
              golden = golden_records(r);
            }
            py::dict out;
            out["customer"] = py::array_t<std::uint64_t>(
                static_cast<py::ssize_t>(golden.customer.size()), golden.customer.data());
            out["records"] = py::array_t<std::uint32_t>(
                static_cast<py::ssize_t>(golden.record_count.size()), golden.record_count.data());
            for (std::size_t a = 0; a < golden.fields.size(); ++a) {
              const std::string name(to_string(golden.fields[a]));
              TextColumn values;
              std::size_t bytes = 0;
              for (const auto& v : golden.value[a])
                bytes += v.size();
              values.reserve(golden.value[a].size(), bytes);
              for (const auto& v : golden.value[a])
                values.push_back(v);
              golden.value[a] = {};
              py::array_t<std::int64_t> record(static_cast<py::ssize_t>(golden.record[a].size()));
              for (std::size_t c = 0; c < golden.record[a].size(); ++c)
                record.mutable_data()[c] = golden.record[a][c] == GoldenRecords::no_record
                                               ? -1
                                               : static_cast<std::int64_t>(golden.record[a][c]);
              out[py::str(name)] = text_buffers(values);
              out[py::str(name + "_record")] = record;
            }
            return out;
          },
          "Golden records: one row per customer by survivorship (dict of columns; text as "
          "Arrow buffers, record indexes -1 where no record gave the value).")
      .def(
          "lineage",
          [](const Resolution& r) {
            // Source as codes into `source_names`, record ids as Arrow buffers.
            TextColumn hashed;
            if (r.spec.hash_outputs) {
              py::gil_scoped_release release;
              for (std::uint32_t i = 0; i < r.customer.size(); ++i)
                hashed.push_back(output_record_id(r, i));
            }
            const TextColumn& record = r.spec.hash_outputs ? hashed : r.record_id;
            std::vector<std::string> names;
            for (const auto& source : r.spec.sources)
              names.push_back(source.name);
            py::dict out;
            out["source"] = py::array_t<std::uint16_t>(static_cast<py::ssize_t>(r.source.size()),
                                                       r.source.data());
            out["source_names"] = names;
            out["record_id"] = text_buffers(record);
            out["row"] =
                py::array_t<std::uint32_t>(static_cast<py::ssize_t>(r.row.size()), r.row.data());
            out["customer"] = py::array_t<std::uint64_t>(
                static_cast<py::ssize_t>(r.customer.size()), r.customer.data());
            return out;
          },
          "Lineage: the customer and source of every record (dict of columns).")
      .def(
          "fields",
          [](const Resolution& r) {
            std::vector<std::string> names;
            for (auto field : r.fields)
              names.emplace_back(to_string(field));
            return names;
          },
          "The model fields the resolution uses.")
      .def(
          "resolve_more",
          [](Resolution& r, const py::list& tables) {
            auto records = tables_from(tables);
            py::gil_scoped_release release;
            resolve_more(r, records);
          },
          py::arg("tables"),
          "Scores new records against the kept model and blocks; existing customer ids stay.")
      .def(
          "unify",
          [](const Resolution& r,
             const std::vector<std::pair<std::string, const EventLog*>>& logs) {
            std::vector<SourceEvents> sources;
            for (const auto& [name, log] : logs)
              sources.push_back({name, log});
            py::gil_scoped_release release;
            return unify_events(r, sources);
          },
          py::arg("logs"), "One EventLog keyed by customer from every source's events.");

  m.def(
      "identity_resolve",
      [](const py::dict& spec_dict, const py::list& tables) {
        const auto spec = spec_from(spec_dict);
        auto records = tables_from(tables);
        py::gil_scoped_release release;
        return resolve(spec, records);
      },
      py::arg("spec"), py::arg("tables"),
      "Resolves source tables into customers under a mapping specification.");
}

}  // namespace cxlens::python
