// ACLs on real mosaicd processes: a SASL broker with `authorizer: acl`
// where real clients (kcat on librdkafka, the mosaic CLI) are allowed and
// refused by ACLs an operator adds and removes with `mosaic acl`; Metadata
// hiding what a principal may not describe; DENY winning; CIDR hosts;
// ACLs surviving a restart; CreateAcls, DescribeAcls and DeleteAcls with
// bad input and without an authorizer; a three-node quorum where ACLs
// made on one node hold on every node; and the authorizer as a plugin
// (`authorizer: mosaic.authz.rules`): its rules first, the ACLs after,
// swapped on SIGHUP, a faulty plugin failing closed, and the config errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"
#include "tests/integration/sasl_broker.h"
#include "tests/support/kafka_call.h"

namespace mosaic::testing {
namespace {

constexpr int16_t topic_authorization_failed = 29, group_authorization_failed = 30, cluster_authorization_failed = 31,
                  invalid_request = 42, security_disabled = 54;

std::vector<std::pair<std::string, std::string>> team() { return {{"bob", "bob-secret"}, {"admin", "admin-secret"}}; }

// `mosaic` as a user, on the broker's SASL listener.
class as_user {
 public:
  as_user(const sasl_broker& b, const std::string& user, const std::string& password) : b_(b) {
    props_ = b.dir().path() / (user + ".properties");
    std::ofstream(props_) << "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=" << user
                          << "\nsasl.password=" << password << "\n";
    kcat_ = kcat_sasl(b.sasl_address(), user, password);
  }
  command_result mosaic(const std::string& args) const {
    return run_command(cli + " -b " + b_.sasl_address() + " --command-config " + props_.string() + " " + args);
  }
  command_result produce(const std::string& topic, const std::string& lines) const {
    return run_command("printf '" + lines + "' | timeout 30 " + kcat_ + " -t " + topic +
                       " -P -X message.timeout.ms=5000");
  }
  command_result consume(const std::string& topic) const {
    return run_command("timeout 30 " + kcat_ + " -t " + topic + " -C -e -f '%s\\n'");
  }
  command_result list() const { return run_command("timeout 30 " + kcat_ + " -L -m 5"); }

 private:
  const sasl_broker& b_;
  std::filesystem::path props_;
  std::string kcat_;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(acl, operators_grant_and_revoke_with_mosaic_acl_and_real_clients_obey) {
  sasl_broker b({"authorizer=acl", "super.users=User:admin"}, team());
  ASSERT_NE(b.sasl_port, 0);
  const as_user admin(b, "admin", "admin-secret"), alice(b, "alice", "alice-secret"), bob(b, "bob", "bob-secret");

  // The super user may do anything; nobody else may do anything yet.
  ASSERT_EQ(admin.mosaic("topic create orders -p 2").code, 0);
  ASSERT_EQ(admin.mosaic("topic create payroll").code, 0);
  auto refused = alice.produce("orders", "one\\n");
  EXPECT_NE(refused.code, 0) << refused.out;
  EXPECT_TRUE(has(refused.out, "Topic authorization failed") || has(refused.out, "TOPIC_AUTHORIZATION_FAILED"))
      << refused.out;
  // Metadata leaves out what the principal may not describe.
  auto listed = alice.list();
  EXPECT_FALSE(has(listed.out, "\"orders\"")) << listed.out;
  EXPECT_FALSE(has(listed.out, "\"payroll\"")) << listed.out;
  // And only the cluster's ALTER holders change ACLs.
  auto self_grant = alice.mosaic("acl add --allow --principal User:alice --operation All --topic orders");
  EXPECT_EQ(self_grant.code, 1) << self_grant.out;
  EXPECT_TRUE(has(self_grant.out, "CLUSTER_AUTHORIZATION_FAILED")) << self_grant.out;

  // Alice may write and read orders, from loopback.
  auto added = admin.mosaic(
      "acl add --allow --principal User:alice --host 127.0.0.0/8 --operation Write,Read --topic "
      "orders");
  ASSERT_EQ(added.code, 0) << added.out;
  EXPECT_TRUE(has(added.out, "added: ALLOW User:alice Write on Topic orders from 127.0.0.0/8")) << added.out;
  auto produced = alice.produce("orders", "one\\ntwo\\nthree\\n");
  ASSERT_EQ(produced.code, 0) << produced.out;
  auto consumed = alice.consume("orders");
  ASSERT_EQ(consumed.code, 0) << consumed.out;
  auto got = lines(consumed.out);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"one", "three", "two"}));
  listed = alice.list();
  EXPECT_TRUE(has(listed.out, "\"orders\"")) << listed.out;  // READ and WRITE imply DESCRIBE
  EXPECT_FALSE(has(listed.out, "\"payroll\"")) << listed.out;
  // Bob still may not, and sees nothing of either topic.
  EXPECT_NE(bob.consume("orders").code, 0);
  auto bobs = bob.mosaic("topic list");
  EXPECT_EQ(bobs.code, 0) << bobs.out;
  EXPECT_FALSE(has(bobs.out, "orders")) << bobs.out;

  // A DENY wins over the ALLOW: alice may no longer read, still write.
  ASSERT_EQ(admin.mosaic("acl add --deny --principal User:alice --operation Read --topic orders").code, 0);
  EXPECT_NE(alice.consume("orders").code, 0);
  EXPECT_EQ(alice.produce("orders", "four\\n").code, 0);

  // A prefixed ALLOW for everyone covers topics made later.
  ASSERT_EQ(admin.mosaic("acl add --allow --principal User:* --operation All --topic public. --prefixed").code, 0);
  ASSERT_EQ(admin.mosaic("topic create public.news").code, 0);
  EXPECT_EQ(bob.produce("public.news", "hello\\n").code, 0);
  EXPECT_EQ(lines(bob.consume("public.news").out), (std::vector<std::string>{"hello"}));

  // The operator's view, then a removal.
  auto all = admin.mosaic("acl list");
  ASSERT_EQ(all.code, 0) << all.out;
  EXPECT_EQ(lines(all.out).size(), 5u) << all.out;  // a header and four ACLs
  auto on_orders = admin.mosaic("acl list --topic orders");
  EXPECT_EQ(lines(on_orders.out).size(), 4u) << on_orders.out;  // the header, two ALLOWs, the DENY
  auto removed = admin.mosaic("acl remove --topic orders --deny");
  ASSERT_EQ(removed.code, 0) << removed.out;
  EXPECT_TRUE(has(removed.out, "1 ACL(s) removed")) << removed.out;
  EXPECT_EQ(alice.consume("orders").code, 0);

  // ACLs are metadata: they survive a restart.
  b.restart();
  const as_user alice2(b, "alice", "alice-secret"), bob2(b, "bob", "bob-secret");
  auto after = alice2.consume("orders");
  EXPECT_EQ(after.code, 0) << after.out;
  EXPECT_EQ(lines(after.out).size(), 4u) << after.out;
  EXPECT_NE(bob2.consume("orders").code, 0);
  EXPECT_TRUE(has(b.proc().err(), "authorizer: ACLs from the metadata log, 1 super user(s)")) << b.proc().err();
}

TEST(acl, groups_need_their_own_acls_and_topics_outside_the_hosts_range_are_refused) {
  sasl_broker b({"authorizer=acl", "super.users=[User:admin]"}, team());
  const as_user admin(b, "admin", "admin-secret"), alice(b, "alice", "alice-secret");
  ASSERT_EQ(admin.mosaic("topic create events").code, 0);
  // User:ANONYMOUS on the plaintext listener has no ACL either.
  auto anonymous = run_command("printf 'a\\n' | timeout 30 kcat -b " + b.plain_address() +
                               " -t events -P -X message.timeout.ms=5000");
  EXPECT_NE(anonymous.code, 0) << anonymous.out;
  ASSERT_EQ(admin.mosaic("acl add --allow --principal User:alice --operation Read,Write --topic events").code, 0);
  ASSERT_EQ(alice.produce("events", "a\\nb\\n").code, 0);

  // Consuming in a group needs READ on the group too.
  const std::string in_group = "timeout 30 " + kcat_sasl(b.sasl_address(), "alice", "alice-secret") +
                               " -G team-a events -X auto.offset.reset=earliest -e -f '%s\\n'";
  auto denied = run_command(in_group);
  EXPECT_TRUE(has(denied.out, "needs DESCRIBE on the group")) << denied.out;  // FindCoordinator's refusal
  EXPECT_FALSE(has(denied.out, "\na\n")) << denied.out;
  ASSERT_EQ(admin.mosaic("acl add --allow --principal User:alice --operation Read --group team- --prefixed").code, 0);
  auto joined = run_command(in_group);
  EXPECT_EQ(lines(joined.out).size(), 2u) << joined.out;
  auto described = alice.mosaic("groups describe team-a");
  EXPECT_EQ(described.code, 0) << described.out;

  // A share group member: READ on the share group (and on the topic).
  auto reset = admin.mosaic("share alter-config shares-a --set share.auto.offset.reset=earliest");
  ASSERT_EQ(reset.code, 0) << reset.out;
  auto share_denied = alice.mosaic("share consume events -g shares-a -n 2 --idle-exit 3000");
  EXPECT_NE(share_denied.code, 0) << share_denied.out;
  EXPECT_TRUE(has(share_denied.out, "GROUP_AUTHORIZATION_FAILED")) << share_denied.out;
  ASSERT_EQ(admin.mosaic("acl add --allow --principal User:alice --operation Read --group shares-a").code, 0);
  auto shared = alice.mosaic("share consume events -g shares-a -n 2 --idle-exit 5000");
  EXPECT_EQ(shared.code, 0) << shared.out;
  EXPECT_EQ(lines(shared.out).size(), 2u) << shared.out;

  // An ALLOW from a host range the client is outside of does not apply.
  ASSERT_EQ(admin.mosaic("acl add --allow --principal User:alice --host 10.0.0.0/8 --operation All --topic far").code,
            0);
  ASSERT_EQ(admin.mosaic("topic create far").code, 0);
  EXPECT_NE(alice.produce("far", "x\\n").code, 0);
}

// Hand-made requests: Kafka's errors for bad ACLs and missing rights.
TEST(acl, bad_acls_and_missing_rights_get_kafkas_errors_and_change_nothing) {
  sasl_broker b({"authorizer=acl", "allow.everyone.if.no.acl.found=true"});
  frame_client c(b.plain_port);  // User:ANONYMOUS; nothing names the cluster yet, so it may alter it
  ASSERT_TRUE(c.connected());
  auto creation = [](int8_t type, const std::string& name, int8_t pattern, const std::string& principal,
                     const std::string& host, int8_t op, int8_t permission) {
    msg::create_acls_request_acl_creation a;
    a.resource_type = type;
    a.resource_name = name;
    a.resource_pattern_type = pattern;
    a.principal = principal;
    a.host = host;
    a.operation = op;
    a.permission_type = permission;
    return a;
  };
  msg::create_acls_request bad;
  bad.creations = {creation(1, "t", 3, "User:a", "*", 3, 3),              // resource type ANY
                   creation(2, "t", 2, "User:a", "*", 3, 3),              // pattern MATCH
                   creation(2, "t", 3, "alice", "*", 3, 3),               // no principal type
                   creation(2, "t", 3, "User:a", "somewhere", 3, 3),      // host neither address nor range
                   creation(2, "t", 3, "User:a", "10.0.0.0/33", 3, 3),    // range too wide
                   creation(4, "other-cluster", 3, "User:a", "*", 7, 3),  // the cluster has one name
                   creation(2, "t", 3, "User:a", "*", 1, 3),              // operation ANY
                   creation(2, "t", 3, "User:a", "*", 3, 1),              // permission ANY
                   creation(2, "", 3, "User:a", "*", 3, 3),               // no name
                   creation(2, "t", 3, "User:a", "::1", 3, 3)};           // IPv6: fine
  auto r = call<msg::create_acls_response>(c, 30, 3, bad);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), bad.creations.size());
  for (size_t k = 0; k + 1 < r->results.size(); ++k) {
    EXPECT_EQ(r->results[k].error_code, invalid_request) << k;
    EXPECT_TRUE(r->results[k].error_message && !r->results[k].error_message->empty()) << k;
  }
  EXPECT_EQ(r->results.back().error_code, 0);
  // The same binding twice is stored once.
  msg::create_acls_request twice;
  twice.creations = {creation(2, "t", 3, "User:a", "::1", 3, 3)};
  ASSERT_EQ(call<msg::create_acls_response>(c, 30, 3, twice)->results.at(0).error_code, 0);

  msg::describe_acls_request all;
  all.resource_type_filter = 1;
  all.pattern_type_filter = 1;
  all.operation = 1;
  all.permission_type = 1;
  auto d = call<msg::describe_acls_response>(c, 29, 3, all);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->error_code, 0);
  ASSERT_EQ(d->resources.size(), 1u);
  EXPECT_EQ(d->resources[0].acls.size(), 1u);
  EXPECT_EQ(d->resources[0].acls[0].host, "::1");
  auto unknown = all;
  unknown.operation = 0;  // UNKNOWN
  EXPECT_EQ(call<msg::describe_acls_response>(c, 29, 3, unknown)->error_code, invalid_request);
  msg::delete_acls_request bad_delete;
  auto& f = bad_delete.filters.emplace_back();
  f.resource_type_filter = 0;
  f.pattern_type_filter = 1;
  f.operation = 1;
  f.permission_type = 1;
  auto del = call<msg::delete_acls_response>(c, 31, 3, bad_delete);
  ASSERT_TRUE(del);
  EXPECT_EQ(del->filter_results.at(0).error_code, invalid_request);
  EXPECT_EQ(call<msg::describe_acls_response>(c, 29, 3, all)->resources.size(), 1u);

  // Once an ACL names the cluster, ANONYMOUS (not in it) may no longer
  // alter or describe ACLs, nor create topics.
  msg::create_acls_request admins;
  admins.creations = {creation(4, "kafka-cluster", 3, "User:admin", "*", 2, 3)};
  ASSERT_EQ(call<msg::create_acls_response>(c, 30, 3, admins)->results.at(0).error_code, 0);
  EXPECT_EQ(call<msg::describe_acls_response>(c, 29, 3, all)->error_code, cluster_authorization_failed);
  EXPECT_EQ(call<msg::create_acls_response>(c, 30, 3, twice)->results.at(0).error_code, cluster_authorization_failed);
  msg::create_topics_request ct;
  ct.topics.emplace_back().name = "made";
  ct.topics[0].num_partitions = 1;
  ct.topics[0].replication_factor = 1;
  auto made = call<msg::create_topics_response>(c, 19, 7, ct);
  ASSERT_TRUE(made);
  EXPECT_EQ(made->topics.at(0).error_code, 0) << "no ACL names topic 'made': allow.everyone.if.no.acl.found";
  msg::find_coordinator_request fc;
  fc.key_type = 0;
  fc.coordinator_keys = {"g"};
  auto found = call<msg::find_coordinator_response>(c, 10, 4, fc);
  ASSERT_TRUE(found);
  EXPECT_NE(found->coordinators.at(0).error_code, group_authorization_failed);
  // The broker lives on.
  EXPECT_FALSE(b.proc().wait(0ms).has_value());
}

TEST(acl, without_an_authorizer_the_acl_apis_answer_security_disabled) {
  sasl_broker b;
  frame_client c(b.plain_port);
  ASSERT_TRUE(c.connected());
  msg::describe_acls_request all;
  all.resource_type_filter = 1;
  all.pattern_type_filter = 1;
  all.operation = 1;
  all.permission_type = 1;
  EXPECT_EQ(call<msg::describe_acls_response>(c, 29, 1, all)->error_code, security_disabled);
  msg::create_acls_request create;
  create.creations.emplace_back().principal = "User:a";
  EXPECT_EQ(call<msg::create_acls_response>(c, 30, 1, create)->results.at(0).error_code, security_disabled);
  msg::delete_acls_request del;
  del.filters.emplace_back();
  EXPECT_EQ(call<msg::delete_acls_response>(c, 31, 1, del)->filter_results.at(0).error_code, security_disabled);
  auto listed = run_command(cli + " -b " + b.plain_address() + " acl list");
  EXPECT_EQ(listed.code, 1);
  EXPECT_TRUE(has(listed.out, "SECURITY_DISABLED")) << listed.out;
}

// ACLs are metadata records: made on one node, in force on every node.
TEST(acl, acls_made_on_one_node_hold_on_every_node_of_the_quorum) {
  cluster c(false, {"authorizer=acl", "allow.everyone.if.no.acl.found=true"});
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(c.ready(id)) << c.node(id).err();
  ASSERT_EQ(c.create(1, "open"), 0);
  ASSERT_EQ(c.create(1, "hidden"), 0);
  frame_client fc(c.port(2));
  msg::create_acls_request req;
  auto& a = req.creations.emplace_back();
  a.resource_type = 2;
  a.resource_name = "hidden";
  a.resource_pattern_type = 3;
  a.principal = "User:ANONYMOUS";
  a.host = "*";
  a.operation = 2;        // ALL
  a.permission_type = 2;  // DENY
  auto r = call<msg::create_acls_response>(fc, 30, 3, req);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.at(0).error_code, 0);
  for (int id = 1; id <= 3; ++id) {
    EXPECT_TRUE(eventually([&] { return c.topics(id) == std::set<std::string>{"open"}; }, 10s)) << id;
    frame_client one(c.port(id));
    msg::metadata_request named;
    named.topics.emplace().emplace_back().name = "hidden";
    named.allow_auto_topic_creation = false;
    auto md = call<msg::metadata_response>(one, 3, 12, named);
    ASSERT_TRUE(md);
    EXPECT_EQ(md->topics.at(0).error_code, topic_authorization_failed) << id;
  }
}

// The rules plugin's entry under plugins.load, with these rules.
std::string rules_entry(const std::vector<std::string>& rules) {
  std::string list;
  for (const auto& r : rules) list += (list.empty() ? "" : ", ") + ("\"" + r + "\"");
  return "    - name: mosaic.authz.rules\n      config: {otherwise: acls, rules: [" + list + "]}\n";
}

bool refused_for_topic(const command_result& r) {
  return r.code != 0 && (has(r.out, "Topic authorization failed") || has(r.out, "TOPIC_AUTHORIZATION_FAILED"));
}

TEST(acl, an_authorizer_plugin_decides_first_defers_to_the_acls_and_is_swapped_on_sighup) {
  const std::vector<std::string> rules = {"deny * Write topic:audit-*", "allow User:alice Read,Write topic:orders"};
  sasl_broker b({"authorizer=mosaic.authz.rules", "super.users=User:admin"}, team(), rules_entry(rules));
  ASSERT_NE(b.sasl_port, 0);
  EXPECT_TRUE(has(b.proc().err(), "plugin mosaic.authz.rules")) << b.proc().err();
  EXPECT_TRUE(has(b.proc().err(), "is the authorizer, generation 1")) << b.proc().err();
  const as_user admin(b, "admin", "admin-secret"), alice(b, "alice", "alice-secret"), bob(b, "bob", "bob-secret");

  // No rule names the cluster: the ACLs decide, and the super user may.
  ASSERT_EQ(admin.mosaic("topic create orders").code, 0);
  ASSERT_EQ(admin.mosaic("topic create audit-1").code, 0);
  // alice by a rule, with no ACL at all.
  auto wrote = alice.produce("orders", "one\\ntwo\\n");
  EXPECT_EQ(wrote.code, 0) << wrote.out;
  auto read = alice.consume("orders");
  EXPECT_EQ(read.code, 0) << read.out;
  EXPECT_TRUE(has(read.out, "one\ntwo\n")) << read.out;
  // The deny rule comes before the ACLs: not even a super user writes there.
  EXPECT_TRUE(refused_for_topic(alice.produce("audit-1", "x\\n")));
  EXPECT_TRUE(refused_for_topic(admin.produce("audit-1", "x\\n")));
  // bob matches no rule and has no ACL; an ACL the admin adds lets him in.
  EXPECT_TRUE(refused_for_topic(bob.produce("orders", "x\\n")));
  auto granted = admin.mosaic("acl add --allow --principal User:bob --operation Write --topic orders");
  ASSERT_EQ(granted.code, 0) << granted.out;
  EXPECT_TRUE(eventually([&] { return bob.produce("orders", "three\\n").code == 0; }, 10s));
  // alice may not change ACLs: no rule, no ACL for the cluster.
  auto self_grant = alice.mosaic("acl add --allow --principal User:alice --operation All --topic audit-1");
  EXPECT_TRUE(has(self_grant.out, "CLUSTER_AUTHORIZATION_FAILED")) << self_grant.out;

  // New rules on SIGHUP: a new generation, which shuts bob out again.
  auto more = rules;
  more.insert(more.begin(), "deny User:bob All topic:*");
  b.write_config(rules_entry(more));
  b.proc().signal(SIGHUP);
  ASSERT_TRUE(b.proc().wait_for_log("is the authorizer, generation 2", 10s)) << b.proc().err();
  EXPECT_TRUE(refused_for_topic(bob.produce("orders", "x\\n")));
  EXPECT_EQ(alice.produce("orders", "four\\n").code, 0);
  // A bad rule list is refused and the running generation stays.
  b.write_config(rules_entry({"permit * Read topic:orders"}));
  b.proc().signal(SIGHUP);
  ASSERT_TRUE(b.proc().wait_for_log("rules[0] 'permit * Read topic:orders'", 10s)) << b.proc().err();
  EXPECT_FALSE(has(b.proc().err(), "is the authorizer, generation 3")) << b.proc().err();
  EXPECT_TRUE(refused_for_topic(bob.produce("orders", "x\\n")));
  EXPECT_EQ(alice.produce("orders", "five\\n").code, 0);
}

TEST(acl, a_faulty_authorizer_plugin_fails_closed_and_the_broker_serves_on) {
  sasl_broker b({"authorizer=test.authz.faulty"}, team(),
                "    - name: test.authz.faulty\n      library: " MOSAIC_FIXTURE_DIR "/libfaulty_authorizer.so\n");
  ASSERT_NE(b.sasl_port, 0);
  const as_user alice(b, "alice", "alice-secret"), bob(b, "bob", "bob-secret");
  ASSERT_EQ(bob.mosaic("topic create t").code, 0);  // the plugin allows everyone but alice
  EXPECT_TRUE(refused_for_topic(alice.produce("t", "x\\n")));
  EXPECT_TRUE(
      b.proc().wait_for_log("authorizer test.authz.faulty (generation 1) failed a check, which is denied: "
                            "policy store unreachable",
                            5s))
      << b.proc().err();
  EXPECT_EQ(bob.produce("t", "y\\n").code, 0);
  auto read = bob.consume("t");
  EXPECT_TRUE(has(read.out, "\ny\n")) << read.out;
}

TEST(acl, an_authorizer_that_cannot_be_loaded_is_a_start_up_error) {
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"com.acme.authz.missing", "authorizer names 'com.acme.authz.missing', which cannot be loaded"},
           {"mosaic.codec.lz4", "authorizer names 'mosaic.codec.lz4', which is not an authorizer plugin"},
           {"opa", "must be none, acl or an authorizer plugin id"}}) {
    temp_dir dir("authz_bad");
    process p(MOSAICD_PATH,
              {"--config", MOSAIC_SOURCE_DIR "/configs/single-node.yaml", "--set",
               "listeners=[{name: P, host: 127.0.0.1, port: 0, adapter: kafka}]", "--set", "authorizer=" + value},
              dir.path());
    auto code = p.wait(20s);
    ASSERT_TRUE(code) << value;
    EXPECT_NE(*code, 0) << value;
    EXPECT_TRUE(has(p.err(), message)) << p.err();
  }
  // The rules plugin's own config is checked before start too.
  temp_dir dir("authz_rules_bad");
  process p(
      MOSAICD_PATH,
      {"--config", MOSAIC_SOURCE_DIR "/configs/single-node.yaml", "--set",
       "listeners=[{name: P, host: 127.0.0.1, port: 0, adapter: kafka}]", "--set", "authorizer=mosaic.authz.rules"},
      dir.path());
  auto code = p.wait(20s);
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_TRUE(has(p.err(), "rules")) << p.err();
}

}  // namespace
}  // namespace mosaic::testing
