// A consumer of cxlens: builds a log, finalizes it, checks one customer's view.
#include <cxlens/cxlens.hpp>

#include <cstdio>

int main() {
  cxlens::EventLog log;
  const auto ann = log.add_customer("ann");
  const auto web = log.add_channel({"web", cxlens::ChannelKind::self_service, 0.05});
  const auto purchase = log.add_event_type({"purchase", cxlens::EventKind::purchase});
  cxlens::Interaction event;
  event.customer = ann;
  event.channel = web;
  event.event_type = purchase;
  event.time = cxlens::make_timestamp(2024, 5, 1);
  event.value = 42.0;
  log.append(event);
  log.finalize();
  const bool ok = log.customer_events(ann).size() == 1 && log.value_column()[0] == 42.0;
  std::printf("cxlens %s consumer: %s\n", cxlens::version, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
