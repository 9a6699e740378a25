/* A librdkafka 2.15.1 producer that pushes its metrics (KIP-714, on by
 * default: enable.metrics.push) while it produces: one record every 50 ms
 * to TOPIC for SECONDS, as client.id telemetry-check, then it closes (its
 * last push says it is terminating).
 *
 *   rdkafka_telemetry_check BOOTSTRAP TOPIC SECONDS */
#include "rdkafka_common.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s BOOTSTRAP TOPIC SECONDS\n", argv[0]);
    return 2;
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  mosaic_set(conf, "bootstrap.servers", argv[1]);
  mosaic_set(conf, "client.id", "telemetry-check");
  mosaic_set(conf, "enable.metrics.push", "true");
  mosaic_set(conf, "linger.ms", "5");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (!rk) {
    fprintf(stderr, "producer: %s\n", err);
    return 1;
  }
  const long long until = mosaic_wall_ms() + atoll(argv[3]) * 1000;
  int produced = 0;
  while (mosaic_wall_ms() < until) {
    char value[32];
    snprintf(value, sizeof(value), "t%d", produced);
    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_VALUE(value, strlen(value)), RD_KAFKA_V_END) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
      ++produced;
    rd_kafka_poll(rk, 50);
  }
  rd_kafka_flush(rk, 10000);
  rd_kafka_destroy(rk);
  printf("produced %d\n", produced);
  return produced > 0 ? 0 : 1;
}
