// Every API mosaicd advertises, asked by a principal with no ACLs: each
// request is the generated sample of its message (names and ids made up),
// and every error code in every answer must be an authorization failure:
// nothing is done and nothing is revealed (a topic id the broker does not
// know may say so: it names nothing). The few APIs Kafka serves to anyone
// (ApiVersions, DescribeCluster, ListGroups listing nothing) are checked
// for that. A test that fails names the API and the codes it got. New APIs
// must be added to the walk: the test fails on an advertised API it does
// not know.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/sasl_broker.h"
#include "tests/support/frame_client.h"
#include "tests/support/kafka_call.h"

namespace mosaic::kafka::msg {
#define MOSAIC_SAMPLE(type) void fill(type& x, int16_t v, int seed);
MOSAIC_SAMPLE(produce_request)
MOSAIC_SAMPLE(fetch_request)
MOSAIC_SAMPLE(list_offsets_request)
MOSAIC_SAMPLE(metadata_request)
MOSAIC_SAMPLE(offset_commit_request)
MOSAIC_SAMPLE(offset_fetch_request)
MOSAIC_SAMPLE(find_coordinator_request)
MOSAIC_SAMPLE(join_group_request)
MOSAIC_SAMPLE(heartbeat_request)
MOSAIC_SAMPLE(leave_group_request)
MOSAIC_SAMPLE(sync_group_request)
MOSAIC_SAMPLE(describe_groups_request)
MOSAIC_SAMPLE(list_groups_request)
MOSAIC_SAMPLE(create_topics_request)
MOSAIC_SAMPLE(delete_topics_request)
MOSAIC_SAMPLE(delete_records_request)
MOSAIC_SAMPLE(init_producer_id_request)
MOSAIC_SAMPLE(offset_for_leader_epoch_request)
MOSAIC_SAMPLE(describe_acls_request)
MOSAIC_SAMPLE(create_acls_request)
MOSAIC_SAMPLE(delete_acls_request)
MOSAIC_SAMPLE(describe_configs_request)
MOSAIC_SAMPLE(alter_configs_request)
MOSAIC_SAMPLE(describe_log_dirs_request)
MOSAIC_SAMPLE(create_partitions_request)
MOSAIC_SAMPLE(delete_groups_request)
MOSAIC_SAMPLE(elect_leaders_request)
MOSAIC_SAMPLE(incremental_alter_configs_request)
MOSAIC_SAMPLE(alter_partition_reassignments_request)
MOSAIC_SAMPLE(list_partition_reassignments_request)
MOSAIC_SAMPLE(offset_delete_request)
MOSAIC_SAMPLE(describe_user_scram_credentials_request)
MOSAIC_SAMPLE(alter_user_scram_credentials_request)
MOSAIC_SAMPLE(describe_quorum_request)
MOSAIC_SAMPLE(describe_cluster_request)
MOSAIC_SAMPLE(describe_producers_request)
MOSAIC_SAMPLE(consumer_group_heartbeat_request)
MOSAIC_SAMPLE(consumer_group_describe_request)
MOSAIC_SAMPLE(describe_topic_partitions_request)
MOSAIC_SAMPLE(share_group_heartbeat_request)
MOSAIC_SAMPLE(share_group_describe_request)
MOSAIC_SAMPLE(share_fetch_request)
MOSAIC_SAMPLE(share_acknowledge_request)
MOSAIC_SAMPLE(describe_share_group_offsets_request)
MOSAIC_SAMPLE(alter_share_group_offsets_request)
MOSAIC_SAMPLE(delete_share_group_offsets_request)
MOSAIC_SAMPLE(describe_client_quotas_request)
MOSAIC_SAMPLE(alter_client_quotas_request)
MOSAIC_SAMPLE(mosaic_plugins_request)
#undef MOSAIC_SAMPLE
}  // namespace mosaic::kafka::msg

namespace mosaic::testing {
namespace {

namespace msg = kafka::msg;

constexpr int16_t topic_denied = 29, group_denied = 30, cluster_denied = 31, txn_denied = 53, unknown_id = 100;

using codes = std::vector<int16_t>;
using asker = std::function<std::optional<codes>(frame_client&, int16_t)>;
struct walk {
  walk() = default;
  walk(int16_t v, asker a, std::set<int16_t> also = {})
      : version(v), ask(std::move(a)), also_allowed(std::move(also)) {}
  int16_t version = 0;
  asker ask;
  std::set<int16_t> also_allowed;  // beside the authorization errors (then an answer may hold none)
};

// Sends the sample request of `Req` and gathers its answer's error codes.
// `shape` adjusts the sample where its made-up values would be refused
// for another reason first (an unknown config resource type, say), so that
// the authorization is what answers.
template <class Req, class Resp>
std::function<std::optional<codes>(frame_client&, int16_t)> ask(int16_t key,
                                                                std::function<void(const Resp&, codes&)> gather,
                                                                std::function<void(Req&)> shape = {}) {
  return [key, gather, shape](frame_client& c, int16_t v) -> std::optional<codes> {
    Req req;
    msg::fill(req, v, 5);
    if (shape) shape(req);
    auto r = call<Resp>(c, key, v, req);
    if (!r) return std::nullopt;
    codes out;
    gather(*r, out);
    return out;
  };
}

std::map<int16_t, walk> the_walk() {
  std::map<int16_t, walk> w;
  w[0] = {12, ask<msg::produce_request, msg::produce_response>(0, [](const auto& r, codes& o) {
            for (const auto& t : r.responses)
              for (const auto& p : t.partition_responses) o.push_back(p.error_code);
          })};
  w[1] = {12, ask<msg::fetch_request, msg::fetch_response>(1, [](const auto& r, codes& o) {
            if (r.error_code) o.push_back(r.error_code);
            for (const auto& t : r.responses)
              for (const auto& p : t.partitions) o.push_back(p.error_code);
          })};
  w[2] = {11, ask<msg::list_offsets_request, msg::list_offsets_response>(2, [](const auto& r, codes& o) {
            for (const auto& t : r.topics)
              for (const auto& p : t.partitions) o.push_back(p.error_code);
          })};
  w[3] = {12, ask<msg::metadata_request, msg::metadata_response>(3, [](const auto& r, codes& o) {
            for (const auto& t : r.topics) o.push_back(t.error_code);
          })};
  w[8] = {9, ask<msg::offset_commit_request, msg::offset_commit_response>(8, [](const auto& r, codes& o) {
            for (const auto& t : r.topics)
              for (const auto& p : t.partitions) o.push_back(p.error_code);
          })};
  w[9] = {9, ask<msg::offset_fetch_request, msg::offset_fetch_response>(9, [](const auto& r, codes& o) {
            for (const auto& g : r.groups) {
              o.push_back(g.error_code);
              for (const auto& t : g.topics)
                for (const auto& p : t.partitions) o.push_back(p.error_code);
            }
          })};
  w[10] = {6, ask<msg::find_coordinator_request, msg::find_coordinator_response>(10, [](const auto& r, codes& o) {
             for (const auto& c : r.coordinators) o.push_back(c.error_code);
           })};
  w[11] = {9, ask<msg::join_group_request, msg::join_group_response>(
                  11, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[12] = {4, ask<msg::heartbeat_request, msg::heartbeat_response>(
                  12, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[13] = {5, ask<msg::leave_group_request, msg::leave_group_response>(13, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& m : r.members) o.push_back(m.error_code);
           })};
  w[14] = {5, ask<msg::sync_group_request, msg::sync_group_response>(
                  14, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[15] = {6, ask<msg::describe_groups_request, msg::describe_groups_response>(15, [](const auto& r, codes& o) {
             for (const auto& g : r.groups) o.push_back(g.error_code);
           })};
  w[16] = {5,
           ask<msg::list_groups_request, msg::list_groups_response>(16,
                                                                    [](const auto& r, codes& o) {
                                                                      o.push_back(r.error_code);
                                                                      for (size_t k = 0; k < r.groups.size(); ++k)
                                                                        o.push_back(-1);  // a group listed: wrong
                                                                    }),
           {0}};
  w[19] = {7, ask<msg::create_topics_request, msg::create_topics_response>(19, [](const auto& r, codes& o) {
             for (const auto& t : r.topics) o.push_back(t.error_code);
           })};
  w[20] = {6,
           ask<msg::delete_topics_request, msg::delete_topics_response>(20,
                                                                        [](const auto& r, codes& o) {
                                                                          for (const auto& t : r.responses)
                                                                            o.push_back(t.error_code);
                                                                        }),
           {unknown_id}};
  w[21] = {2, ask<msg::delete_records_request, msg::delete_records_response>(21, [](const auto& r, codes& o) {
             for (const auto& t : r.topics)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  w[22] = {5, ask<msg::init_producer_id_request, msg::init_producer_id_response>(
                  22, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[23] = {4, ask<msg::offset_for_leader_epoch_request, msg::offset_for_leader_epoch_response>(
                  23, [](const auto& r, codes& o) {
                    for (const auto& t : r.topics)
                      for (const auto& p : t.partitions) o.push_back(p.error_code);
                  })};
  w[29] = {3, ask<msg::describe_acls_request, msg::describe_acls_response>(
                  29, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[30] = {3, ask<msg::create_acls_request, msg::create_acls_response>(30, [](const auto& r, codes& o) {
             for (const auto& x : r.results) o.push_back(x.error_code);
           })};
  w[31] = {3, ask<msg::delete_acls_request, msg::delete_acls_response>(31, [](const auto& r, codes& o) {
             for (const auto& x : r.filter_results) o.push_back(x.error_code);
           })};
  w[32] = {4, ask<msg::describe_configs_request, msg::describe_configs_response>(32, [](const auto& r, codes& o) {
             for (const auto& x : r.results) o.push_back(x.error_code);
           })};
  w[33] = {2, ask<msg::alter_configs_request, msg::alter_configs_response>(33, [](const auto& r, codes& o) {
             for (const auto& x : r.responses) o.push_back(x.error_code);
           })};
  w[35] = {4, ask<msg::describe_log_dirs_request, msg::describe_log_dirs_response>(35, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (size_t k = 0; k < r.results.size(); ++k) o.push_back(-1);  // a log dir shown: wrong
           })};
  w[37] = {3, ask<msg::create_partitions_request, msg::create_partitions_response>(37, [](const auto& r, codes& o) {
             for (const auto& x : r.results) o.push_back(x.error_code);
           })};
  w[42] = {2, ask<msg::delete_groups_request, msg::delete_groups_response>(42, [](const auto& r, codes& o) {
             for (const auto& x : r.results) o.push_back(x.error_code);
           })};
  w[43] = {2, ask<msg::elect_leaders_request, msg::elect_leaders_response>(43, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& t : r.replica_election_results)
               for (const auto& p : t.partition_result) o.push_back(p.error_code);
           })};
  w[44] = {1, ask<msg::incremental_alter_configs_request, msg::incremental_alter_configs_response>(
                  44, [](const auto& r, codes& o) {
                    for (const auto& x : r.responses) o.push_back(x.error_code);
                  })};
  w[45] = {1, ask<msg::alter_partition_reassignments_request, msg::alter_partition_reassignments_response>(
                  45, [](const auto& r, codes& o) {
                    o.push_back(r.error_code);
                    for (const auto& t : r.responses)
                      for (const auto& p : t.partitions) o.push_back(p.error_code);
                  })};
  w[46] = {0, ask<msg::list_partition_reassignments_request, msg::list_partition_reassignments_response>(
                  46, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[47] = {0, ask<msg::offset_delete_request, msg::offset_delete_response>(47, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& t : r.topics)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  w[50] = {0, ask<msg::describe_user_scram_credentials_request, msg::describe_user_scram_credentials_response>(
                  50, [](const auto& r, codes& o) {
                    o.push_back(r.error_code);
                    for (const auto& x : r.results) o.push_back(x.error_code);
                  })};
  w[51] = {0, ask<msg::alter_user_scram_credentials_request, msg::alter_user_scram_credentials_response>(
                  51, [](const auto& r, codes& o) {
                    for (const auto& x : r.results) o.push_back(x.error_code);
                  })};
  w[55] = {2, ask<msg::describe_quorum_request, msg::describe_quorum_response>(55, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& t : r.topics)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  // Kafka serves DescribeCluster to anyone (its authorized operations are
  // the caller's: none here).
  w[60] = {2,
           ask<msg::describe_cluster_request, msg::describe_cluster_response>(60,
                                                                              [](const auto& r, codes& o) {
                                                                                o.push_back(r.error_code);
                                                                                if (r.cluster_authorized_operations > 0)
                                                                                  o.push_back(-1);
                                                                              }),
           {0}};
  w[61] = {0, ask<msg::describe_producers_request, msg::describe_producers_response>(61, [](const auto& r, codes& o) {
             for (const auto& t : r.topics)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  w[68] = {1, ask<msg::consumer_group_heartbeat_request, msg::consumer_group_heartbeat_response>(
                  68, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[69] = {1, ask<msg::consumer_group_describe_request, msg::consumer_group_describe_response>(
                  69, [](const auto& r, codes& o) {
                    for (const auto& g : r.groups) o.push_back(g.error_code);
                  })};
  w[75] = {0, ask<msg::describe_topic_partitions_request, msg::describe_topic_partitions_response>(
                  75, [](const auto& r, codes& o) {
                    for (const auto& t : r.topics) o.push_back(t.error_code);
                  })};
  w[76] = {1, ask<msg::share_group_heartbeat_request, msg::share_group_heartbeat_response>(
                  76, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[77] = {1,
           ask<msg::share_group_describe_request, msg::share_group_describe_response>(77, [](const auto& r, codes& o) {
             for (const auto& g : r.groups) o.push_back(g.error_code);
           })};
  w[78] = {2, ask<msg::share_fetch_request, msg::share_fetch_response>(78, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& t : r.responses)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  w[79] = {2, ask<msg::share_acknowledge_request, msg::share_acknowledge_response>(79, [](const auto& r, codes& o) {
             o.push_back(r.error_code);
             for (const auto& t : r.responses)
               for (const auto& p : t.partitions) o.push_back(p.error_code);
           })};
  w[90] = {1, ask<msg::describe_share_group_offsets_request, msg::describe_share_group_offsets_response>(
                  90, [](const auto& r, codes& o) {
                    for (const auto& g : r.groups) o.push_back(g.error_code);
                  })};
  w[91] = {0, ask<msg::alter_share_group_offsets_request, msg::alter_share_group_offsets_response>(
                  91, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[92] = {0, ask<msg::delete_share_group_offsets_request, msg::delete_share_group_offsets_response>(
                  92, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  // Samples reshaped so that the authorization answers, not another check
  // made first: no fetch session (a made-up one is refused before
  // anything), config resources of the kinds served (a topic, the broker,
  // a group).
  w[1].ask = ask<msg::fetch_request, msg::fetch_response>(
      1,
      [](const auto& r, codes& o) {
        if (r.error_code) o.push_back(r.error_code);
        for (const auto& t : r.responses)
          for (const auto& p : t.partitions) o.push_back(p.error_code);
      },
      [](msg::fetch_request& r) {
        r.session_id = 0;
        r.session_epoch = -1;
      });
  w[32].ask = ask<msg::describe_configs_request, msg::describe_configs_response>(
      32,
      [](const auto& r, codes& o) {
        for (const auto& x : r.results) o.push_back(x.error_code);
      },
      [](msg::describe_configs_request& r) {
        const int8_t types[] = {2, 4, 32};
        for (size_t k = 0; k < r.resources.size(); ++k) r.resources[k].resource_type = types[k % 3];
      });
  w[33].ask = ask<msg::alter_configs_request, msg::alter_configs_response>(
      33,
      [](const auto& r, codes& o) {
        for (const auto& x : r.responses) o.push_back(x.error_code);
      },
      [](msg::alter_configs_request& r) {
        for (size_t k = 0; k < r.resources.size(); ++k) r.resources[k].resource_type = k % 2 ? 4 : 2;
      });
  w[44].ask = ask<msg::incremental_alter_configs_request, msg::incremental_alter_configs_response>(
      44,
      [](const auto& r, codes& o) {
        for (const auto& x : r.responses) o.push_back(x.error_code);
      },
      [](msg::incremental_alter_configs_request& r) {
        const int8_t types[] = {2, 4, 32};
        for (size_t k = 0; k < r.resources.size(); ++k) r.resources[k].resource_type = types[k % 3];
      });
  w[10].ask = ask<msg::find_coordinator_request, msg::find_coordinator_response>(
      10,
      [](const auto& r, codes& o) {
        for (const auto& c : r.coordinators) o.push_back(c.error_code);
      },
      [](msg::find_coordinator_request& r) { r.key_type = 0; });  // groups (types 1 and 2 below)
  w[48] = {1, ask<msg::describe_client_quotas_request, msg::describe_client_quotas_response>(
                  48, [](const auto& r, codes& o) { o.push_back(r.error_code); })};
  w[49] = {1, ask<msg::alter_client_quotas_request, msg::alter_client_quotas_response>(49, [](const auto& r, codes& o) {
             for (const auto& e : r.entries) o.push_back(e.error_code);
           })};
  w[60].also_allowed.insert(35);  // a controller endpoint type, which is not served
  // Mosaic's own: a plugin swap needs ALTER on the cluster.
  w[10000] = {0, ask<msg::mosaic_plugins_request, msg::mosaic_plugins_response>(
                     10000, [](const auto& r, codes& o) { o.push_back(r.error_code); },
                     [](msg::mosaic_plugins_request& r) { r.operation = 2; })};
  return w;
}

TEST(acl_walk, a_principal_without_acls_is_refused_by_every_api_and_learns_nothing) {
  // The plaintext listener's User:ANONYMOUS has no ACL; the cluster has
  // topics and a group it must not see.
  sasl_broker b({"authorizer=acl", "super.users=[User:admin]", "auto.create.topics.enable=true"},
                {{"admin", "admin-secret"}});
  const auto admin_props = b.dir().path() / "admin.properties";
  std::ofstream(admin_props) << "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=admin\n"
                             << "sasl.password=admin-secret\n";
  for (const char* t : {"s5", "s6", "s7", "secret"})
    ASSERT_EQ(run_command(cli + " -b " + b.sasl_address() + " --command-config " + admin_props.string() +
                          " topic create " + t)
                  .code,
              0);

  frame_client c(b.plain_port);
  ASSERT_TRUE(c.connected());
  msg::api_versions_request av;
  av.client_software_name = "walk";
  av.client_software_version = "1";
  auto versions = call<msg::api_versions_response>(c, 18, 3, av);
  ASSERT_TRUE(versions);
  ASSERT_EQ(versions->error_code, 0);
  const auto w = the_walk();
  const std::set<int16_t> authentication = {17, 18, 36};  // SaslHandshake, ApiVersions, SaslAuthenticate
  int walked = 0;
  for (const auto& api : versions->api_keys) {
    if (authentication.count(api.api_key)) continue;
    auto it = w.find(api.api_key);
    ASSERT_NE(it, w.end()) << "API " << api.api_key << " is advertised and not in the walk: add it";
    const auto& step = it->second;
    ASSERT_GE(step.version, api.min_version) << api.api_key;
    ASSERT_LE(step.version, api.max_version) << api.api_key;
    frame_client one(b.plain_port);
    auto got = step.ask(one, step.version);
    ASSERT_TRUE(got) << "API " << api.api_key << ": no answer (" << one.error() << ")";
    std::set<int16_t> allowed = {topic_denied, group_denied, cluster_denied, txn_denied};
    allowed.insert(step.also_allowed.begin(), step.also_allowed.end());
    if (step.also_allowed.empty()) {
      EXPECT_FALSE(got->empty()) << "API " << api.api_key << " answered with no error code at all";
    }
    for (int16_t code : *got) EXPECT_TRUE(allowed.count(code)) << "API " << api.api_key << " answered " << code;
    ++walked;
  }
  EXPECT_GE(walked, 40);
  // FindCoordinator for a transactional id and for share-group state.
  for (int8_t key_type : {1, 2}) {
    frame_client one(b.plain_port);
    msg::find_coordinator_request fc;
    fc.key_type = key_type;
    fc.coordinator_keys = {"k"};
    auto r = call<msg::find_coordinator_response>(one, 10, 6, fc);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->coordinators.at(0).error_code, key_type == 1 ? txn_denied : cluster_denied);
  }
  // Nothing was created, deleted or changed: the admin still sees exactly
  // its topics, and no ACL exists.
  auto listed =
      run_command(cli + " -b " + b.sasl_address() + " --command-config " + admin_props.string() + " topic list");
  EXPECT_EQ(lines(listed.out).size(), 5u) << listed.out;  // the header and four topics
  auto acls = run_command(cli + " -b " + b.sasl_address() + " --command-config " + admin_props.string() + " acl list");
  EXPECT_EQ(lines(acls.out).size(), 1u) << acls.out;
  EXPECT_FALSE(b.proc().wait(0ms).has_value());
}

}  // namespace
}  // namespace mosaic::testing
