// GET /openapi.json: the HTTP adapter's API as OpenAPI 3.0 describes it.
#include <string>

#include <nlohmann/json.hpp>

#include "mosaic/version.h"
#include "plugins/protocol_http/api.h"

namespace mosaic::http {

namespace {

using json = nlohmann::ordered_json;

json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json ok(const std::string& schema, const std::string& what) {
  return {{"description", what}, {"content", {{"application/json", {{"schema", ref(schema)}}}}}};
}

json error_responses(std::initializer_list<int> statuses) {
  json out = json::object();
  for (int s : statuses)
    out[std::to_string(s)] = {{"description", "an error"},
                              {"content", {{"application/json", {{"schema", ref("Error")}}}}}};
  return out;
}

json param(const std::string& name, const std::string& in, const std::string& type, const std::string& what,
           bool required = false) {
  return {{"name", name},
          {"in", in},
          {"required", required || in == "path"},
          {"description", what},
          {"schema", {{"type", type}}}};
}

json operation(const std::string& summary, json parameters, json responses, json body = nullptr) {
  json op = {{"summary", summary}, {"parameters", std::move(parameters)}, {"responses", std::move(responses)}};
  if (!body.is_null())
    op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", std::move(body)}}}}}};
  return op;
}

json merge(json a, const json& b) {
  for (auto it = b.begin(); it != b.end(); ++it) a[it.key()] = it.value();
  return a;
}

json document() {
  const json format = param("format", "query", "string", "how keys and values are written: string, json or base64");
  json schemas = {
      {"Error",
       {{"type", "object"},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"properties",
             {{"code",
               {{"type", "string"}, {"description", "stable: Kafka's error name in lower case, or the adapter's"}}},
              {"message", {{"type", "string"}}}}}}}}}}},
      {"Record",
       {{"type", "object"},
        {"properties",
         {{"offset", {{"type", "integer"}}},
          {"timestamp", {{"type", "integer"}}},
          {"key", {{"nullable", true}}},
          {"value", {{"nullable", true}}},
          {"headers", {{"type", "array"}, {"items", ref("Header")}}}}}}},
      {"Header",
       {{"type", "object"}, {"properties", {{"key", {{"type", "string"}}}, {"value", {{"nullable", true}}}}}}},
      {"NewRecords",
       {{"type", "object"},
        {"required", {"records"}},
        {"properties",
         {{"format", {{"type", "string"}, {"enum", {"string", "json", "base64"}}, {"default", "string"}}},
          {"records",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties",
               {{"key", {{"nullable", true}}},
                {"value", {{"nullable", true}}},
                {"partition", {{"type", "integer"}}},
                {"headers",
                 {{"oneOf", {{{"type", "object"}}, {{"type", "array"}, {"items", ref("Header")}}}}}}}}}}}}}}}},
      {"Offsets",
       {{"type", "object"},
        {"properties",
         {{"offsets",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"properties", {{"partition", {{"type", "integer"}}}, {"offset", {{"type", "integer"}}}}}}}}}}}}},
      {"Records",
       {{"type", "object"},
        {"properties",
         {{"records", {{"type", "array"}, {"items", ref("Record")}}},
          {"next_offset", {{"type", "integer"}}},
          {"high_watermark", {{"type", "integer"}}},
          {"log_start_offset", {{"type", "integer"}}}}}}},
      {"NewTopic",
       {{"type", "object"},
        {"required", {"name"}},
        {"properties",
         {{"name", {{"type", "string"}}},
          {"partitions", {{"type", "integer"}}},
          {"replication_factor", {{"type", "integer"}}},
          {"configs", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}}}}}},
      {"Topic", {{"type", "object"}}},
      {"Topics", {{"type", "object"}}},
      {"Cluster", {{"type", "object"}}},
      {"Groups", {{"type", "object"}}},
      {"Plugins", {{"type", "object"}}},
      {"Group", {{"type", "object"}}},
      {"Receive",
       {{"type", "object"},
        {"required", {"topic"}},
        {"properties",
         {{"topic", {{"type", "string"}}},
          {"max_records", {{"type", "integer"}, {"default", 10}}},
          {"wait_ms", {{"type", "integer"}, {"default", 0}, {"description", "long poll: wait this long for records"}}},
          {"format", {{"type", "string"}, {"enum", {"string", "json", "base64"}}}}}}}},
      {"Received",
       {{"type", "object"},
        {"properties",
         {{"lock_ms", {{"type", "integer"}, {"description", "how long each record stays locked to the caller"}}},
          {"records",
           {{"type", "array"},
            {"items",
             merge(
                 ref("Record"),
                 json{{"description",
                       "plus receipt (the handle to acknowledge it by), topic, partition and delivery_count"}})}}}}}}},
      {"Acknowledge",
       {{"type", "object"},
        {"required", {"acks"}},
        {"properties",
         {{"acks",
           {{"type", "array"},
            {"items",
             {{"type", "object"},
              {"required", {"receipt"}},
              {"properties",
               {{"receipt", {{"type", "string"}}},
                {"type",
                 {{"type", "string"},
                  {"enum", {"accept", "release", "reject", "renew"}},
                  {"default", "accept"}}}}}}}}}}}}},
      {"Acknowledged", {{"type", "object"}}},
  };
  const json topic = param("topic", "path", "string", "the topic");
  json paths = {
      {"/openapi.json",
       {{"get", operation("this document", json::array(), {{"200", {{"description", "OpenAPI 3.0"}}}})}}},
      {"/v1/cluster",
       {{"get", operation("the cluster: id, controller, brokers and their listeners, the metadata quorum",
                          json::array(), merge({{"200", ok("Cluster", "the cluster")}}, error_responses({403})))}}},
      {"/v1/topics",
       {{"get", operation("topics by name, a page at a time",
                          {param("prefix", "query", "string", "only names that start with it"),
                           param("filter", "query", "string", "only names that contain it"),
                           param("after", "query", "string", "the page after this name (a page's \"next\")"),
                           param("limit", "query", "integer", "names per page, 1 to 10000 (1000)"),
                           param("internal", "query", "boolean", "include internal topics")},
                          {{"200", ok("Topics", "{topics: [{name, id, partitions, internal}], next}")}})},
        {"post", operation("create a topic", json::array(),
                           merge({{"201", ok("Topic", "created")}}, error_responses({400, 403, 409, 415, 422})),
                           ref("NewTopic"))}}},
      {"/v1/topics/{topic}",
       {{"get", operation("a topic's partitions: leader, replicas, in-sync replicas, earliest and latest offsets",
                          {topic}, merge({{"200", ok("Topic", "the topic")}}, error_responses({403, 404})))}}},
      {"/v1/topics/{topic}/records",
       {{"post",
         operation("produce records: by the record's partition, the key's hash (Kafka's murmur2) or one partition "
                   "per request; application/octet-stream sends the body as one record's value",
                   {topic, param("partition", "query", "integer", "every record to this partition"),
                    param("key", "query", "string", "the key (application/octet-stream)"),
                    param("acks", "query", "string", "all (the default) or 1")},
                   merge({{"200", ok("Offsets", "where each record went, in request order")}},
                         error_responses({400, 403, 404, 413, 415, 421, 422, 503, 504})),
                   ref("NewRecords"))}}},
      {"/v1/topics/{topic}/partitions/{partition}/records",
       {{"get", operation("fetch records from an offset or a time",
                          {topic, param("partition", "path", "integer", "the partition"),
                           param("offset", "query", "string", "earliest (the default), latest or an offset"),
                           param("timestamp", "query", "integer", "the first record at or after this time (ms)"),
                           param("max_records", "query", "integer", "at most this many (100)"),
                           param("max_bytes", "query", "integer", "about this many bytes of batches (1 MiB)"),
                           param("wait_ms", "query", "integer", "long poll: wait this long for a record"), format},
                          merge({{"200", ok("Records", "the records")}}, error_responses({400, 403, 404, 421})))}}},
      {"/v1/plugins",
       {{"get", operation("this node's plugins: each slot's plugin and generation, calls and errors, and each "
                          "listener's adapter",
                          json::array(),
                          merge({{"200", ok("Plugins", "{node_id, slots: [...]}")}}, error_responses({403})))}}},
      {"/console/",
       {{"get", operation("the web console (HTML)", json::array(), {{"200", {{"description", "the console"}}}})}}},
      {"/v1/groups",
       {{"get", operation("consumer and share groups", json::array(), {{"200", ok("Groups", "groups")}})}}},
      {"/v1/groups/{group}",
       {{"get", operation("a group's state, members with their assignments, and per partition its committed offset "
                          "and lag in records and in time (lag_ms: the age of the record at the committed offset); "
                          "a share group's progress",
                          {param("group", "path", "string", "the group")},
                          merge({{"200", ok("Group", "the group")}}, error_responses({403, 421})))}}},
      {"/v1/queues/{group}/receive",
       {{"post", operation("receive records of a share group, each locked for lock_ms, with a receipt handle",
                           {param("group", "path", "string", "the share group")},
                           merge({{"200", ok("Received", "the records (none when the wait ran out)")}},
                                 error_responses({400, 403, 404, 415})),
                           ref("Receive"))}}},
      {"/v1/queues/{group}/acknowledge",
       {{"post", operation("accept, release, reject or renew records by their receipt handles; one bad handle refuses "
                           "them all",
                           {param("group", "path", "string", "the share group")},
                           merge({{"200", ok("Acknowledged", "{results: [{receipt, acknowledged, error?}]}")}},
                                 error_responses({400, 403, 410, 415})),
                           ref("Acknowledge"))}}},
  };
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "Mosaic HTTP adapter"},
            {"version", MOSAIC_VERSION},
            {"description", "Kafka data over HTTP and JSON. Errors are {\"error\": {\"code\", \"message\"}}."}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

}  // namespace

const std::string& openapi_json() {
  static const std::string text = document().dump();
  return text;
}

}  // namespace mosaic::http
