// cxlens._core, simulation area: cxlens::sim::simulate as plain numpy and list columns, for
// cxlens.simulate to turn into pandas DataFrames. Columns are moved out of the C++ world, not
// copied: each numpy array owns its buffer through a capsule. Times are datetime64[ns] (NaT for
// "never"), flags are bool, codes are small unsigned integers with their labels alongside, text
// is an object array with None where the source system has no value.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cxlens/sim/world.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace cxlens::python {
namespace {

/// A 1-d numpy array of `dtype` that takes ownership of `values` (no copy).
template <class T>
py::array adopt(std::vector<T>&& values, py::dtype dtype) {
  auto* heap = new std::vector<T>(std::move(values));
  py::capsule owner(heap, [](void* pointer) { delete static_cast<std::vector<T>*>(pointer); });
  return py::array(std::move(dtype), {static_cast<py::ssize_t>(heap->size())},
                   {static_cast<py::ssize_t>(sizeof(T))}, heap->data(), owner);
}

/// A numeric column, owned by numpy.
template <class T>
py::array numbers(std::vector<T>&& values) {
  return adopt(std::move(values), py::dtype::of<T>());
}

/// A timestamp column as datetime64[ns] (`missing_time` is NaT: same bits).
py::array times(std::vector<Timestamp>&& values) {
  return adopt(std::move(values), py::dtype("datetime64[ns]"));
}

/// A 0/1 byte column as numpy bool (same memory layout).
py::array flags(std::vector<std::uint8_t>&& values) {
  return adopt(std::move(values), py::dtype("bool"));
}

/// A text column as a numpy object array of str, None for empty text. With `shared`, equal
/// strings share one Python object (for columns with few distinct values: names, cities).
py::array text(const sim::StringColumn& column, bool shared) {
  const auto rows = static_cast<py::ssize_t>(column.size());
  py::array result(py::dtype("object"), std::vector<py::ssize_t>{rows});
  auto** out = static_cast<PyObject**>(result.mutable_data());
  // numpy fills a new object array with None references or NULLs depending on the version;
  // release whatever is there before writing our own references.
  for (py::ssize_t i = 0; i < rows; ++i) {
    Py_XDECREF(out[i]);
    out[i] = nullptr;
  }
  std::unordered_map<std::string_view, PyObject*> seen;
  for (py::ssize_t i = 0; i < rows; ++i) {
    const std::string_view value = column[static_cast<std::size_t>(i)];
    PyObject* object = nullptr;
    if (value.empty()) {
      object = Py_None;
      Py_INCREF(object);
    } else if (shared) {
      auto [found, added] = seen.try_emplace(value, nullptr);
      if (added) {  // the new object's own reference goes to this row
        found->second =
            PyUnicode_DecodeUTF8(value.data(), static_cast<py::ssize_t>(value.size()), "strict");
        if (found->second == nullptr) throw py::error_already_set();
        object = found->second;
      } else {  // later rows take one more reference each
        object = found->second;
        Py_INCREF(object);
      }
    } else {
      object = PyUnicode_DecodeUTF8(value.data(), static_cast<py::ssize_t>(value.size()), "strict");
      if (object == nullptr) throw py::error_already_set();
    }
    out[i] = object;
  }
  // Every reference created above is held by exactly one row of `out`; the cache owns none.
  return result;
}

/// Applies `settings` (dotted knob name -> value) to `config`; unknown names raise NotFound,
/// values of the wrong type raise TypeMismatch (ColumnTypeError in Python).
void apply_settings(sim::WorldConfig& config, const py::dict& settings) {
  std::set<std::string> used;
  sim::for_each_knob(config, [&](std::string_view name, auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    const py::str key{std::string(name)};
    if (!settings.contains(key)) return;
    used.insert(std::string(name));
    const py::handle given = settings[key];
    const auto wrong_type = [&](const char* expected) {
      return TypeMismatch("simulation setting '" + std::string(name) + "' must be " + expected);
    };
    if constexpr (std::is_same_v<T, bool>) {
      if (!py::isinstance<py::bool_>(given)) throw wrong_type("True or False");
      value = given.cast<bool>();
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!py::isinstance<py::str>(given)) throw wrong_type("a string");
      value = given.cast<std::string>();
    } else if constexpr (std::is_same_v<T, double>) {
      if (py::isinstance<py::bool_>(given) ||
          !(py::isinstance<py::float_>(given) || py::isinstance<py::int_>(given)))
        throw wrong_type("a number");
      value = given.cast<double>();
    } else if constexpr (std::is_same_v<T, Timestamp>) {
      // "start": UTC ns since the epoch, or ISO 8601 text.
      if (py::isinstance<py::str>(given)) {
        const auto parsed = parse_iso8601(given.cast<std::string>());
        if (!parsed) throw InvalidArgument("simulation setting 'start' is not an ISO 8601 time");
        value = *parsed;
      } else if (py::isinstance<py::int_>(given) && !py::isinstance<py::bool_>(given)) {
        value = given.cast<Timestamp>();
      } else {
        throw wrong_type("nanoseconds since the epoch or ISO 8601 text");
      }
    } else {  // unsigned integers: counts, seed, threads
      if (!py::isinstance<py::int_>(given) || py::isinstance<py::bool_>(given))
        throw wrong_type("an integer");
      const py::int_ number = py::reinterpret_borrow<py::int_>(given);
      if (number < py::int_(0) || number > py::int_(std::numeric_limits<T>::max()))
        throw InvalidArgument("simulation setting '" + std::string(name) + "' is out of range");
      value = number.cast<T>();
    }
  });
  for (const auto& item : settings) {
    const auto name = py::str(item.first).cast<std::string>();
    if (!used.count(name))
      throw NotFound("unknown simulation setting '" + name +
                     "'; see cxlens._core.sim_defaults() for every setting");
  }
}

/// Every knob and its value, by dotted name.
py::dict knobs(const sim::WorldConfig& config) {
  py::dict result;
  sim::for_each_knob(config, [&](std::string_view name, const auto& value) {
    result[py::str(std::string(name))] = py::cast(value);
  });
  return result;
}

py::dict planted(const sim::PlantedTruth& truth) {
  py::dict result;
  result["mean_lambda"] = truth.mean_lambda;
  result["mean_dropout"] = truth.mean_dropout;
  result["mean_spend"] = truth.mean_spend;
  result["channel_shift_effect"] = truth.channel_shift_effect;
  result["adopter_share"] = truth.adopter_share;
  result["contributor_share"] = truth.contributor_share;
  result["engaged_revenue_ratio"] = truth.engaged_revenue_ratio;
  result["dark_matter_share"] = truth.dark_matter_share;
  result["dark_matter_purchase_rate_ratio"] = truth.dark_matter_purchase_rate_ratio;
  result["survey_response_intercept"] = truth.survey_response_intercept;
  result["survey_fatigue_slope"] = truth.survey_fatigue_slope;
  result["survey_fatigue_window_weeks"] = truth.survey_fatigue_window_weeks;
  result["contributor_tilted"] = truth.contributor_tilted;
  result["tier_tilt_rate"] = truth.tier_tilt_rate;
  result["tier_tilt_scale"] = truth.tier_tilt_scale;
  result["dark_tilt_rate"] = truth.dark_tilt_rate;
  result["dark_tilt_scale"] = truth.dark_tilt_scale;
  result["mean_self_service_share"] = truth.mean_self_service_share;
  return result;
}

py::dict truth_columns(sim::CustomerTruth&& truth) {
  py::dict result;
  result["person_id"] = numbers(std::move(truth.person_id));
  result["acquisition_time"] = times(std::move(truth.acquisition_time));
  result["purchase_rate"] = numbers(std::move(truth.purchase_rate));
  result["dropout_probability"] = numbers(std::move(truth.dropout_probability));
  result["alive_at_end"] = flags(std::move(truth.alive_at_end));
  result["dropout_time"] = times(std::move(truth.dropout_time));
  result["repeat_purchases"] = numbers(std::move(truth.repeat_purchases));
  result["spend_nu"] = numbers(std::move(truth.spend_nu));
  result["expected_spend"] = numbers(std::move(truth.expected_spend));
  result["dark_matter"] = flags(std::move(truth.dark_matter));
  result["adoption_time"] = times(std::move(truth.adoption_time));
  result["engagement_tier"] = numbers(std::move(truth.engagement_tier));
  for (std::size_t i = 0; i < sim::service_channel_count; ++i)
    result[py::str("preference_" + std::string(sim::service_channels[i]))] =
        numbers(std::move(truth.channel_preference[i]));
  result["service_contact_rate"] = numbers(std::move(truth.service_contact_rate));
  result["shifted_contacts"] = numbers(std::move(truth.shifted_contacts));
  result["satisfaction"] = numbers(std::move(truth.satisfaction));
  result["relationship_time"] = times(std::move(truth.relationship_time));
  result["transformation_time"] = times(std::move(truth.transformation_time));
  result["store_purchase_share"] = numbers(std::move(truth.store_purchase_share));
  return result;
}

py::dict source_columns(sim::SourceTable&& table) {
  py::dict result;
  result["record_id"] = text(table.record_id, false);
  result["person_id"] = numbers(std::move(table.person_id));
  result["first_name"] = text(table.first_name, true);
  result["last_name"] = text(table.last_name, true);
  result["email"] = text(table.email, false);
  result["phone"] = text(table.phone, false);
  result["street"] = text(table.street, true);
  result["postal_code"] = text(table.postal_code, true);
  result["city"] = text(table.city, true);
  result["birth_date"] = text(table.birth_date, true);
  result["created_at"] = times(std::move(table.created_at));
  return result;
}

py::dict contact_point_columns(std::vector<ContactPoint>&& points) {
  const std::size_t n = points.size();
  std::vector<CustomerId> customer(n);
  std::vector<ChannelId> channel(n);
  std::vector<std::uint64_t> address_hash(n);
  std::vector<std::uint8_t> consent(n);
  std::vector<Timestamp> consent_time(n);
  std::vector<std::uint16_t> source_system(n);
  for (std::size_t i = 0; i < n; ++i) {
    customer[i] = points[i].customer;
    channel[i] = points[i].channel;
    address_hash[i] = points[i].address_hash;
    consent[i] = static_cast<std::uint8_t>(points[i].consent);
    consent_time[i] = points[i].consent_time;
    source_system[i] = points[i].source_system;
  }
  points.clear();
  points.shrink_to_fit();
  py::dict result;
  result["customer"] = numbers(std::move(customer));
  result["channel"] = numbers(std::move(channel));
  result["address_hash"] = numbers(std::move(address_hash));
  result["consent"] = numbers(std::move(consent));
  result["consent_time"] = times(std::move(consent_time));
  result["source_system"] = numbers(std::move(source_system));
  return result;
}

py::dict labels() {
  const auto names = [](auto count, auto name_of) {
    py::list list;
    for (std::size_t i = 0; i < count; ++i)
      list.append(py::str(std::string(name_of(i))));
    return list;
  };
  py::dict result;
  result["channel"] =
      names(sim::world_channel_count, [](std::size_t i) { return sim::world_channels[i]; });
  result["event_type"] = names(sim::world_event_type_count,
                               [](std::size_t i) { return sim::world_event_types[i].first; });
  result["service_channel"] =
      names(sim::service_channel_count, [](std::size_t i) { return sim::service_channels[i]; });
  result["consent"] =
      names(std::size_t{3}, [](std::size_t i) { return to_string(static_cast<ConsentState>(i)); });
  result["engagement_tier"] = names(std::size_t{3}, [](std::size_t i) {
    return sim::to_string(static_cast<sim::EngagementTier>(i));
  });
  result["source_system"] = names(sim::source_system_count, [](std::size_t i) {
    return sim::to_string(static_cast<sim::SourceSystem>(i));
  });
  return result;
}

}  // namespace

void bind_sim(py::module_& m) {
  m.def(
      "sim_defaults", [] { return knobs(sim::WorldConfig{}); },
      "Every simulation setting by dotted name (e.g. 'purchases.r', "
      "'adoption.channel_shift_effect') with its default value; 'start' is UTC ns.");
  m.def(
      "simulate",
      [](const py::dict& settings) {
        sim::WorldConfig config;
        apply_settings(config, settings);
        sim::World world;
        {
          py::gil_scoped_release release;
          world = sim::simulate(config);
        }
        py::dict result;
        result["config"] = knobs(world.config);
        result["planted"] = planted(world.planted);
        result["start"] = world.start;
        result["end"] = world.end;
        result["labels"] = labels();
        result["truth"] = truth_columns(std::move(world.truth));
        py::dict sources;
        for (auto& table : world.sources) {
          const auto name = std::string(sim::to_string(table.system));
          sources[py::str(name)] = source_columns(std::move(table));
        }
        result["sources"] = sources;
        result["contact_points"] = contact_point_columns(std::move(world.contact_points));
        result["event_log"] = py::cast(std::move(world.events));
        return result;
      },
      py::arg("settings") = py::dict(),
      "Simulates a synthetic multichannel world with planted ground truth. `settings` maps "
      "dotted setting names (see sim_defaults()) to values. Returns a dict: 'event_log' (a "
      "finalized native EventLog), 'truth' (columns, one row per person), 'sources' (system -> "
      "columns, one row per source record), 'contact_points' (columns), 'planted' (exact "
      "population truths), 'config' (every setting used), 'start' and 'end' (UTC ns) and "
      "'labels' (names of the coded columns' values). Same settings give the same world "
      "whatever 'threads' is.");
}

}  // namespace cxlens::python
