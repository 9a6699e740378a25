// The record interceptor plugins: the conformance suite for the two in-tree
// ones and the failing fixture, then what each does: the JSON Schema subset
// keyword by keyword (and the schemas it refuses to load), the header
// stamp's templates and its refusals.
#include "mosaic/testing/interceptor_conformance.h"

#include <fstream>
#include <string>
#include <vector>

namespace {

using mosaic::testing::fake_host;
using mosaic::testing::fake_instance;
using mosaic::testing::interceptor_caller;
using mosaic::testing::interceptor_case;
using mosaic::testing::interceptor_conformance;
using mosaic::testing::plugin_library;
using mosaic::testing::test_batch;
using mosaic::testing::test_record;

const std::string schema_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_interceptor_json_schema.so";
const std::string stamp_lib = std::string(MOSAIC_PLUGIN_DIR) + "/libmosaic_interceptor_header_stamp.so";
const std::string faulty_lib = std::string(MOSAIC_FIXTURE_DIR) + "/libfaulty_interceptor.so";
const std::string order_schema = std::string(MOSAIC_SOURCE_DIR) + "/tests/fixtures/schemas/order.schema.json";

INSTANTIATE_TEST_SUITE_P(
    plugins, interceptor_conformance,
    ::testing::Values(
        interceptor_case{
            schema_lib,
            "mosaic.interceptor.json_schema",
            {{"schema.file", order_schema}},
            {},
            {{"k", R"({"id": 1, "amount": 9.99, "currency": "EUR"})"},
             {std::nullopt, R"({"id": 2, "amount": 1, "currency": "USD", "lines": [{"sku": "abc", "qty": 2}]})"}},
            {{"k", R"({"id": 1, "amount": 9.99, "currency": "EUR"})"},
             {"k", R"({"id": 0, "amount": 9.99, "currency": "EUR"})"}}},
        interceptor_case{stamp_lib,
                         "mosaic.interceptor.header_stamp",
                         {},
                         {{"headers", {"x-producer=${principal}", "x-client=${client.id}", "x-at=${received.ms}"}}},
                         {{"k", "v"}},
                         {}},
        interceptor_case{faulty_lib, "test.interceptor.faulty", {{"reject.every", "1"}}, {}, {}, {{"k", "v"}}}));

class schema_test : public ::testing::Test {
 protected:
  // An instance over this schema text; the refusal's message if it is refused.
  std::string make(const std::string& schema_text, const std::string& nulls = "accept") {
    path_ = ::testing::TempDir() + "schema-" + std::to_string(++count_) + ".json";
    std::ofstream(path_) << schema_text;
    lib_ = std::make_unique<plugin_library>(schema_lib);
    try {
      inst_ = host_.create(lib_->factory("mosaic.interceptor.json_schema"),
                           {{"schema.file", path_}, {"null.values", nulls}});
    } catch (const std::exception& e) {
      return e.what();
    }
    caller_ =
        std::make_unique<interceptor_caller>(inst_->vtable<mosaic_record_interceptor_vtable_v1>(), inst_->handle());
    return "";
  }
  // The reason a batch of these values is refused; "" if it is accepted.
  std::string judge(const std::vector<std::optional<std::string>>& values) {
    std::vector<test_record> records;
    records.reserve(values.size());
    for (const auto& v : values) records.push_back({"k", v});
    test_batch b(records, true);
    auto a = caller_->call(b);
    EXPECT_EQ(a.status, MOSAIC_OK) << a.message;
    last_index_ = a.record_index;
    return a.verdict == MOSAIC_INTERCEPT_ACCEPT ? "" : a.reason;
  }
  bool ok(const std::string& value) { return judge({value}).empty(); }

  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  std::unique_ptr<interceptor_caller> caller_;
  std::string path_;
  int count_ = 0;
  int32_t last_index_ = -1;
};

TEST_F(schema_test, the_order_schema_accepts_orders_and_names_what_is_wrong) {
  std::ifstream in(order_schema);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(make(text), "");
  EXPECT_TRUE(ok(R"({"id": 7, "amount": 12.5, "currency": "GBP", "note": null})"));
  EXPECT_TRUE(ok(R"({"id": 7.0, "amount": 12.5, "currency": "GBP", "lines": [{"sku": "abc", "qty": 1}]})"));
  // Record 1 of 3 is the one at fault, and the reason says where.
  auto why = judge({R"({"id": 1, "amount": 1, "currency": "EUR"})", R"({"id": 1, "amount": 1, "currency": "JPY"})",
                    R"({"id": 1, "amount": 1, "currency": "EUR"})"});
  EXPECT_NE(why.find("record 1"), std::string::npos) << why;
  EXPECT_NE(why.find("/currency"), std::string::npos) << why;
  EXPECT_EQ(last_index_, 1);
  EXPECT_NE(judge({R"({"id": 1, "amount": 1})"}).find("the required property 'currency' is missing"),
            std::string::npos);
  EXPECT_NE(judge({R"({"id": 1, "amount": 1, "currency": "EUR", "extra": 1})"}).find("'extra' is not allowed"),
            std::string::npos);
  EXPECT_NE(judge({R"({"id": 1, "amount": 0, "currency": "EUR"})"}).find("/amount"), std::string::npos);
  EXPECT_NE(judge({R"({"id": 1, "amount": 1.005, "currency": "EUR"})"}).find("multiple of"), std::string::npos);
  EXPECT_NE(judge({R"({"id": 1.5, "amount": 1, "currency": "EUR"})"}).find("/id"), std::string::npos);
  EXPECT_NE(judge({R"({"id": 1, "amount": 1, "currency": "EUR", "lines": []})"}).find("at least 1"), std::string::npos);
  EXPECT_NE(
      judge({R"({"id": 1, "amount": 1, "currency": "EUR", "lines": [{"sku": "ab", "qty": 1}]})"}).find("/lines/0/sku"),
      std::string::npos);
  EXPECT_NE(judge({R"({"id": 1, "amount": 1, "currency": "EUR", "note": "123456789012345678901"})"}).find("at most 20"),
            std::string::npos);
  EXPECT_NE(judge({"not json"}).find("not JSON"), std::string::npos);
  EXPECT_NE(judge({"{\"id\": 1"}).find("not JSON"), std::string::npos);
  EXPECT_EQ(judge({std::nullopt}), "");  // a tombstone passes by default
}

TEST_F(schema_test, null_values_may_be_refused) {
  ASSERT_EQ(make(R"({"type": "object"})", "reject"), "");
  EXPECT_NE(judge({"{}", std::nullopt}).find("null value"), std::string::npos);
  EXPECT_EQ(last_index_, 1);
  EXPECT_NE(make(R"({"type": "object"})", "sometimes").find("null.values"), std::string::npos);
}

TEST_F(schema_test, each_keyword_of_the_subset) {
  ASSERT_EQ(make(R"({"type": ["string", "integer"]})"), "");
  EXPECT_TRUE(ok(R"("x")"));
  EXPECT_TRUE(ok("3"));
  EXPECT_FALSE(ok("3.5"));
  ASSERT_EQ(make(R"({"const": {"a": [1, 2]}})"), "");
  EXPECT_TRUE(ok(R"({"a": [1.0, 2]})"));
  EXPECT_FALSE(ok(R"({"a": [2, 1]})"));
  ASSERT_EQ(make(R"({"minProperties": 1, "maxProperties": 2})"), "");
  EXPECT_FALSE(ok("{}"));
  EXPECT_TRUE(ok(R"({"a": 1})"));
  EXPECT_FALSE(ok(R"({"a": 1, "b": 2, "c": 3})"));
  EXPECT_TRUE(ok("[]"));  // object keywords say nothing of arrays
  ASSERT_EQ(make(R"({"prefixItems": [{"type": "string"}], "items": {"type": "integer"}, "maxItems": 3,
                     "uniqueItems": true})"),
            "");
  EXPECT_TRUE(ok(R"(["a", 1, 2])"));
  EXPECT_FALSE(ok(R"([1, 1])"));
  EXPECT_FALSE(ok(R"(["a", "b"])"));
  EXPECT_FALSE(ok(R"(["a", 1, 1])"));
  EXPECT_FALSE(ok(R"(["a", 1, 2, 3])"));
  ASSERT_EQ(make(R"({"minLength": 2, "maxLength": 3})"), "");
  EXPECT_TRUE(ok(R"("éé")"));  // code points, not bytes
  EXPECT_FALSE(ok(R"("é")"));
  EXPECT_FALSE(ok(R"("abcd")"));
  ASSERT_EQ(make(R"({"minimum": 1, "maximum": 10, "exclusiveMaximum": 10})"), "");
  EXPECT_TRUE(ok("1"));
  EXPECT_FALSE(ok("0.5"));
  EXPECT_FALSE(ok("10"));
  ASSERT_EQ(make(R"({"allOf": [{"type": "integer"}, {"minimum": 0}], "not": {"const": 13}})"), "");
  EXPECT_TRUE(ok("12"));
  EXPECT_FALSE(ok("13"));
  EXPECT_FALSE(ok("-1"));
  ASSERT_EQ(make(R"({"anyOf": [{"type": "string"}, {"type": "null"}]})"), "");
  EXPECT_TRUE(ok("null"));
  EXPECT_FALSE(ok("1"));
  ASSERT_EQ(make(R"({"oneOf": [{"type": "integer"}, {"minimum": 5}]})"), "");
  EXPECT_TRUE(ok("3"));
  EXPECT_TRUE(ok("5.5"));
  EXPECT_FALSE(ok("7"));  // both
  ASSERT_EQ(make(R"({"if": {"properties": {"kind": {"const": "refund"}}},
                     "then": {"required": ["reason"]}, "else": {"not": {"required": ["reason"]}}})"),
            "");
  EXPECT_TRUE(ok(R"({"kind": "refund", "reason": "broken"})"));
  EXPECT_FALSE(ok(R"({"kind": "refund"})"));
  EXPECT_FALSE(ok(R"({"kind": "sale", "reason": "x"})"));
  ASSERT_EQ(make(R"({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}},
                                         "additionalProperties": false}},
                     "$ref": "#/$defs/node"})"),
            "");
  EXPECT_TRUE(ok(R"({"next": {"next": {}}})"));
  EXPECT_FALSE(ok(R"({"next": {"other": 1}})"));
  ASSERT_EQ(make("false"), "");
  EXPECT_FALSE(ok("{}"));
  ASSERT_EQ(make("true"), "");
  EXPECT_TRUE(ok("[1, {}]"));
}

TEST_F(schema_test, a_recursive_schema_stops_at_a_depth) {
  ASSERT_EQ(make(R"({"items": {"$ref": "#"}})"), "");
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_NE(judge({deep}).find("deeper than 64"), std::string::npos);
}

TEST_F(schema_test, schemas_outside_the_subset_are_refused_when_loaded) {
  EXPECT_NE(make(R"({"type": "string", "pattern": "^a"})").find("'pattern' is not in the supported subset"),
            std::string::npos);
  EXPECT_NE(make(R"({"patternProperties": {}})").find("patternProperties"), std::string::npos);
  EXPECT_NE(make(R"({"$ref": "other.json#/x"})").find("only references within the schema file"), std::string::npos);
  EXPECT_NE(make(R"({"$ref": "#/$defs/missing"})").find("points nowhere"), std::string::npos);
  EXPECT_NE(make(R"({"type": "whole"})").find("type name"), std::string::npos);
  EXPECT_NE(make(R"({"minLength": -1})").find("non-negative"), std::string::npos);
  EXPECT_NE(make(R"({"multipleOf": 0})").find("above 0"), std::string::npos);
  EXPECT_NE(make(R"({"properties": {"a": {"contains": {}}}})").find("/properties/a/contains"), std::string::npos);
  EXPECT_NE(make("[1, 2]").find("an object or a boolean"), std::string::npos);
  EXPECT_NE(make("{ not json").find("is not JSON"), std::string::npos);
  lib_ = std::make_unique<plugin_library>(schema_lib);
  try {
    host_.create(lib_->factory("mosaic.interceptor.json_schema"), {{"schema.file", "/nonexistent/schema.json"}});
    ADD_FAILURE() << "a missing file was taken";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos) << e.what();
  }
}

class stamp_test : public ::testing::Test {
 protected:
  std::string make(const std::vector<std::string>& headers, const std::string& replace = "true") {
    lib_ = std::make_unique<plugin_library>(stamp_lib);
    try {
      inst_ = host_.create(lib_->factory("mosaic.interceptor.header_stamp"), {{"replace", replace}},
                           {{"headers", headers}});
    } catch (const std::exception& e) {
      return e.what();
    }
    caller_ =
        std::make_unique<interceptor_caller>(inst_->vtable<mosaic_record_interceptor_vtable_v1>(), inst_->handle());
    return "";
  }
  fake_host host_;
  std::unique_ptr<plugin_library> lib_;
  std::unique_ptr<fake_instance> inst_;
  std::unique_ptr<interceptor_caller> caller_;
};

TEST_F(stamp_test, templates_are_filled_from_the_batch) {
  ASSERT_EQ(make({"x-producer=${principal}", "x-where=${topic}/${partition} by ${client.id} ($$1)",
                  "x-pid=${producer.id}", "x-at=${received.ms}"}),
            "");
  EXPECT_FALSE(caller_->reads_records());  // no decompression for it
  test_batch b({{"k", "v"}}, false, "orders", "User:alice", "shop");
  auto a = caller_->call(b);
  ASSERT_EQ(a.status, MOSAIC_OK) << a.message;
  EXPECT_EQ(a.verdict, MOSAIC_INTERCEPT_ACCEPT);
  ASSERT_EQ(a.headers.size(), 4u);
  EXPECT_EQ(a.headers[0], (std::pair<std::string, std::optional<std::string>>{"x-producer", "User:alice"}));
  EXPECT_EQ(a.headers[1].second, "orders/3 by shop ($1)");
  EXPECT_EQ(a.headers[2].second, "1000");
  EXPECT_FALSE(a.headers[3].second->empty());
}

TEST_F(stamp_test, bad_templates_are_refused) {
  EXPECT_NE(make({"no-equals"}).find("KEY=TEMPLATE"), std::string::npos);
  EXPECT_NE(make({"=x"}).find("KEY=TEMPLATE"), std::string::npos);
  EXPECT_NE(make({"k=${user}"}).find("unknown placeholder ${user}"), std::string::npos);
  EXPECT_NE(make({"k=$x"}).find("$$"), std::string::npos);
  EXPECT_NE(make({"k=${principal"}).find("$$"), std::string::npos);
  EXPECT_NE(make({"k=x"}, "maybe").find("replace"), std::string::npos);
}

}  // namespace
