// mosaic: the operator's command line for a Mosaic (or any Kafka) cluster,
// in the spirit of Redpanda's rpk. It speaks the Kafka protocol with the
// project's generated message code over a blocking socket.
//
//   mosaic [--bootstrap HOST:PORT] topic create|list|describe|delete|alter-config ...
//   mosaic [--bootstrap HOST:PORT] produce TOPIC ...
//   mosaic [--bootstrap HOST:PORT] consume TOPIC ...
//   mosaic [--bootstrap HOST:PORT] groups list|describe|delete|reset-offsets ...
//   mosaic [--bootstrap HOST:PORT] share consume|describe|reset-offsets ...
//   mosaic [--bootstrap HOST:PORT] cluster info
//   mosaic [--bootstrap HOST:PORT] quorum describe
//   mosaic user hash-password [NAME]
//   mosaic plugin keygen|sign|digest|verify ...
//   mosaic [--bootstrap HOST:PORT] plugin list|history|swap|promote|rollback ...
//   mosaic [--bootstrap HOST:PORT] user set-password|list|delete ...
//
// --command-config FILE authenticates with SASL (client properties).
//
// Exit codes: 0 done, 1 the broker refused (the message says why), 2 a bad
// command line, 3 no broker to talk to.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "kernel/base/log.h"
#include "tools/cli/client.h"

namespace {

using namespace mosaic::cli;

const char* const help_main =
    "usage: mosaic [--bootstrap HOST:PORT] [--command-config FILE] COMMAND ...\n"
    "\n"
    "  topic create NAME [-p PARTITIONS] [-r REPLICAS] [-c KEY=VALUE]... [--dry-run]\n"
    "  topic list\n"
    "  topic describe NAME\n"
    "  topic delete NAME\n"
    "  topic alter-config NAME [--set KEY=VALUE]... [--delete KEY]...\n"
    "  produce TOPIC [-p PARTITION] [-k KEY | -K SEPARATOR] [-H KEY=VALUE]... [--acks all|1]\n"
    "  consume TOPIC [-p PARTITION] [-o earliest|latest|OFFSET|-N] [-t TIMESTAMP_MS] [-n COUNT]\n"
    "                [-f FORMAT] [--follow]\n"
    "  groups list [--state STATE]... [--type classic|consumer]...\n"
    "  groups describe GROUP\n"
    "  groups delete GROUP...\n"
    "  groups reset-offsets GROUP --topic TOPIC [-p PARTITION] --to earliest|latest|OFFSET [--dry-run]\n"
    "  groups reset-offsets GROUP --topic TOPIC [-p PARTITION] --to-timestamp MS [--dry-run]\n"
    "  share consume TOPIC -g GROUP [--ack accept|release|reject] [--reject-if TEXT] [--release-if TEXT]\n"
    "                [--hold MS [--renew-every MS]] [-n COUNT] [--idle-exit MS] [--reset earliest|latest]\n"
    "  share describe GROUP\n"
    "  share alter-config GROUP [--set KEY=VALUE]... [--delete KEY]...\n"
    "  share reset-offsets GROUP --topic TOPIC [-p PARTITION] --to earliest|latest|OFFSET\n"
    "  partitions list [--under-replicated] [--offline] [TOPIC]...\n"
    "  partitions elect [--unclean] [TOPIC[:PARTITION]]...\n"
    "  partitions reassign TOPIC:PARTITION --replicas B,B,... | --cancel\n"
    "  partitions reassignments\n"
    "  cluster info\n"
    "  quorum describe\n"
    "  plugin list [--slot SLOT]\n"
    "  plugin history [SLOT]\n"
    "  plugin swap SLOT PLUGIN [--library LIB] [--set KEY=VALUE]... [--validate-only]\n"
    "              [--canary BROKER [--watch SECONDS] [--max-error-rate R] [--max-p99-ms MS] [--min-calls N]]\n"
    "  plugin promote SLOT [--generation N]\n"
    "  plugin rollback SLOT [--generation N] [--reason TEXT]\n"
    "  plugin inspect [--public-key KEY|NAME.pub] LIBRARY...\n"
    "  plugin keygen NAME\n"
    "  plugin sign --key NAME.key LIBRARY...\n"
    "  plugin digest LIBRARY...\n"
    "  plugin verify --public-key KEY|NAME.pub LIBRARY\n"
    "  user hash-password [NAME] < password\n"
    "  user set-password NAME [-m SCRAM-SHA-256|SCRAM-SHA-512]... [-i ITERATIONS] < password\n"
    "  user list [NAME]...\n"
    "  user delete NAME [-m MECHANISM]...\n"
    "  acl list [RESOURCE] [--principal P]\n"
    "  acl add --allow|--deny --principal P [--host H] --operation OP[,OP]... RESOURCE\n"
    "  acl remove RESOURCE [--principal P] [--host H] [--operation OP]... [--allow|--deny]\n"
    "    RESOURCE: --topic NAME | --group NAME | --cluster | --transactional-id NAME [--prefixed]\n"
    "  quota describe [--user U | --user-default] [--client-id C | --client-id-default]\n"
    "  quota alter ENTITY [--add producer_byte_rate|consumer_byte_rate|request_percentage=N]... [--delete KEY]...\n"
    "\n"
    "--bootstrap defaults to $MOSAIC_BOOTSTRAP, else 127.0.0.1:9092 (configs/single-node.yaml).\n"
    "--command-config FILE (or $MOSAIC_COMMAND_CONFIG): client properties for a secured listener:\n"
    "  security.protocol=SASL_PLAINTEXT|SSL|SASL_SSL, sasl.mechanism=PLAIN|SCRAM-SHA-256|SCRAM-SHA-512,\n"
    "  sasl.username=..., sasl.password=..., ssl.truststore.location=CA.pem (ssl.ca.location),\n"
    "  ssl.keystore.location=CERT-AND-KEY.pem (or ssl.certificate.location and ssl.key.location),\n"
    "  ssl.key.password=..., ssl.endpoint.identification.algorithm= (empty: skip the host name check)\n"
    "`mosaic COMMAND --help` describes a command. Exit codes: 0 done, 1 the broker refused,\n"
    "2 a bad command line, 3 no broker to talk to.\n";

const std::map<std::string, const char*> help_commands = {
    {"topic",
     "mosaic topic create NAME [-p|--partitions N] [-r|--replication-factor N] [-c|--config KEY=VALUE]... "
     "[--dry-run]\n"
     "mosaic topic list\n"
     "mosaic topic describe NAME     partitions with their leader, replicas, ISR, ELR and offsets, and every\n"
     "                               config with its source\n"
     "mosaic topic delete NAME\n"
     "mosaic topic alter-config NAME [-s|--set KEY=VALUE]... [-d|--delete KEY]...\n"
     "Without -p or -r the broker's num.partitions and default.replication.factor apply.\n"},
    {"produce",
     "mosaic produce TOPIC [options] < lines\n"
     "Each line of standard input is a record's value.\n"
     "  -p, --partition N        all records to partition N (default: by key, else 100 at a time per partition)\n"
     "  -k, --key KEY            the same key for every record\n"
     "  -K, --key-separator SEP  'KEY<SEP>VALUE' lines\n"
     "  -H, --header KEY=VALUE   a header on every record (repeatable)\n"
     "  --acks all|1             default all\n"},
    {"consume",
     "mosaic consume TOPIC [options]\n"
     "Prints records, from every partition unless -p, up to the end of each partition (the high\n"
     "watermark when it starts) unless --follow.\n"
     "  -p, --partition N\n"
     "  -o, --offset earliest|latest|N|-N    where to start (-N: N before the end); default earliest\n"
     "  -t, --from-timestamp MS              the first record at or after this time\n"
     "  -n, --count N                        stop after N records\n"
     "  -f, --format FORMAT                  %t topic, %p partition, %o offset, %k key, %s value,\n"
     "                                       %T timestamp, %h headers, \\n, \\t; default '%s\\n'\n"
     "  --follow                             keep waiting for new records\n"},
    {"share",
     "mosaic share consume TOPIC -g|--group GROUP [options]\n"
     "    a share consumer (KIP-932): prints each record it acquires with its delivery count, then\n"
     "    acknowledges it\n"
     "  --ack accept|release|reject   what every record gets (default accept)\n"
     "  --reject-if TEXT              REJECT records whose value contains TEXT\n"
     "  --release-if TEXT             RELEASE records whose value contains TEXT (offered again)\n"
     "  --hold MS                     a slow worker: keep each fetch's records MS before acknowledging\n"
     "  --renew-every MS              while holding, RENEW the locks this often (KIP-1222)\n"
     "  -n, --count N                 stop after N records\n"
     "  --idle-exit MS                stop when nothing arrives for MS\n"
     "  --max-records N               records per fetch (default 100)\n"
     "  --reset earliest|latest|by_duration:PnDTnHnMnS   set the group's share.auto.offset.reset first\n"
     "  -f, --format FORMAT           as consume's, plus %d the delivery count; default '%o\\t%d\\t%s\\n'\n"
     "mosaic share describe GROUP\n"
     "    the group's coordinator, the members and their assignment, and per partition the\n"
     "    share-partition start offset (SPSO),\n"
     "    the end of what was handed out, the records in flight by state, and the lag\n"
     "mosaic share alter-config GROUP [-s|--set KEY=VALUE]... [-d|--delete KEY]...\n"
     "    a share group's configs: share.auto.offset.reset, share.record.lock.duration.ms,\n"
     "    share.delivery.count.limit, share.partition.max.record.locks, share.isolation.level,\n"
     "    share.renew.acknowledge.enable, share.session.timeout.ms, share.heartbeat.interval.ms,\n"
     "    errors.deadletterqueue.topic.name, errors.deadletterqueue.copy.record.enable\n"
     "mosaic share reset-offsets GROUP -t|--topic TOPIC [-p|--partition N] --to earliest|latest|OFFSET\n"
     "    moves the start offset of a share group with no members (AlterShareGroupOffsets)\n"},
    {"cluster",
     "mosaic cluster info       the cluster id, the controller, the topic count, and each broker with its\n"
     "                          state (running, or fenced: not heard from, or shutting down) and rack\n"},
    {"partitions",
     "mosaic partitions list [--under-replicated] [--offline] [TOPIC]...\n"
     "    every partition (of the named topics) with its leader, replicas, ISR, eligible leader\n"
     "    replicas (KIP-966) and replicas on fenced brokers; --under-replicated: the ISR is short of\n"
     "    the replicas; --offline: no leader\n"
     "mosaic partitions elect [--unclean] [TOPIC[:PARTITION]]...\n"
     "    a preferred leader election (the first replica leads again, if it is in sync), for every\n"
     "    partition that needs one when none is named; --unclean: a partition with no eligible\n"
     "    replica takes any live one, which may lose acknowledged records\n"
     "mosaic partitions reassign TOPIC:PARTITION -r|--replicas B,B,...\n"
     "    moves a partition to these brokers: the new replicas copy it and join the ISR, then the\n"
     "    old ones go (leadership moves first if its leader goes); --cancel instead of --replicas\n"
     "    stops a reassignment under way\n"
     "mosaic partitions reassignments     the reassignments under way\n"},
    {"quorum",
     "mosaic quorum describe\n"
     "    the metadata quorum as its leader sees it: the leader, the epoch, the high watermark, and per\n"
     "    voter its log end, its lag behind the leader and when it was last heard from and caught up\n"},
    {"plugin",
     "mosaic plugin list [--slot SLOT]\n"
     "    what every broker runs in each plugin slot: the plugin, the cluster's generation (0: the broker's\n"
     "    own YAML; * a canary), its own generation count, calls, errors, the p99 latency (while calls\n"
     "    are timed: a metrics listener, or a canary on that broker), the library\n"
     "mosaic plugin history [SLOT]\n"
     "    the cluster's swaps, promotions and rollbacks: when, who asked, what, the library's SHA-256\n"
     "mosaic plugin swap SLOT PLUGIN [--library LIB] [--set KEY=VALUE]... [--validate-only]\n"
     "    puts PLUGIN (from LIB, with that config) in SLOT on every broker, as the next generation, at the\n"
     "    same metadata offset; slots: group.share.policy, group.share.dlq.handler, assignor.NAME,\n"
     "    codec.gzip|snappy|lz4|zstd, interceptor.INDEX, authenticator.PLUGIN_ID, group.consumer.assignor.\n"
     "    The broker asked validates it first in a child process (plugins.trust, ABI, category,\n"
     "    config, a smoke call) and refuses without changing anything if a check fails; then waits\n"
     "    until every broker runs it. Needs plugins.hot_swap.enabled on the broker asked, and ALTER on\n"
     "    the cluster under ACLs\n"
     "    --canary BROKER: on that broker only; its calls are watched for --watch SECONDS (30): more\n"
     "    than --max-error-rate (0.01) of them failing, a p99 latency over --max-p99-ms (if given; the\n"
     "    bound of its metrics bucket), or fewer than --min-calls (1) calls, rolls it back; otherwise it\n"
     "    is promoted to every broker\n"
     "mosaic plugin promote SLOT [--generation N]\n"
     "    a canary generation goes to every broker\n"
     "mosaic plugin rollback SLOT [--generation N] [--reason TEXT]\n"
     "    every broker returns to the generation before the top one (0: each broker's YAML); --generation\n"
     "    refuses if the top one is not N\n"
     "mosaic plugin inspect [--public-key KEY|NAME.pub] LIBRARY...\n"
     "    what a plugin library declares, read from the file without loading it or running its code: its\n"
     "    name, version and ABI, each plugin id with its category and description, each config field\n"
     "    (type, default, range); its SHA-256 and whether it is signed (by one of the keys, with --public-key)\n"
     "mosaic plugin keygen NAME\n"
     "    makes an Ed25519 key pair: NAME.key (the secret, mode 600) and NAME.pub; prints the public key\n"
     "    for plugins.trust.public_keys\n"
     "mosaic plugin sign --key NAME.key LIBRARY...\n"
     "    writes LIBRARY.sig beside each library: what plugins.trust.require_signatures asks for\n"
     "mosaic plugin digest LIBRARY...\n"
     "    prints each library's SHA-256, for plugins.trust.sha256\n"
     "mosaic plugin verify --public-key KEY|NAME.pub LIBRARY\n"
     "    checks LIBRARY.sig as mosaicd would (exit 1 if it is not by that key)\n"
     "inspect, keygen, sign, digest and verify are local commands: no broker is asked.\n"},
    {"user",
     "mosaic user hash-password [NAME] < password\n"
     "    reads a password from the first line of standard input and prints its argon2id hash\n"
     "    (libsodium, interactive limits: 64 MiB, 2 passes); with NAME, the line 'NAME:HASH' that\n"
     "    mosaic.authn.plain's users.file takes\n"
     "mosaic user set-password NAME [-m|--mechanism SCRAM-SHA-256|SCRAM-SHA-512]... [-i|--iterations N] < password\n"
     "    reads a password from standard input and stores SCRAM credentials for it in the cluster's\n"
     "    metadata (AlterUserScramCredentials: a random salt, the salted password derived here, so the\n"
     "    password never leaves this machine); both mechanisms unless -m; 8192 iterations unless -i\n"
     "    (4096-16384); mosaic.authn.scram checks clients against them on every broker\n"
     "mosaic user list [NAME]...\n"
     "    users with SCRAM credentials, their mechanisms and iterations (DescribeUserScramCredentials)\n"
     "mosaic user delete NAME [-m|--mechanism MECHANISM]...\n"
     "    deletes a user's SCRAM credentials (every mechanism unless -m)\n"},
    {"acl",
     "mosaic acl list [--topic NAME | --group NAME | --cluster | --transactional-id NAME] [--prefixed]\n"
     "                [--principal P]\n"
     "    the cluster's ACLs (DescribeAcls), all or those on one resource: with a resource, the ACLs that\n"
     "    apply to it (its literal name, the wildcard *, and matching prefixes); with --prefixed, the\n"
     "    prefix pattern itself\n"
     "mosaic acl add --allow|--deny --principal P... [--host H]... --operation OP[,OP]... RESOURCE [--prefixed]\n"
     "    stores an ACL per principal, host and operation (CreateAcls). P is Type:name (User:alice,\n"
     "    User:* for everyone); H is *, an address or a CIDR range (10.0.0.0/8), * unless given; OP is\n"
     "    All, Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs,\n"
     "    AlterConfigs or IdempotentWrite. DENY wins over ALLOW. Needs authorizer: acl on the brokers\n"
     "mosaic acl remove RESOURCE [--prefixed] [--principal P] [--host H] [--operation OP]... [--allow|--deny]\n"
     "    deletes the ACLs on the resource that match the options (DeleteAcls) and lists them\n"},
    {"quota",
     "mosaic quota describe [--user U | --user-default] [--client-id C | --client-id-default]\n"
     "    the client quotas (DescribeClientQuotas) of the entities that name these (all without options)\n"
     "mosaic quota alter (--user U | --user-default) and/or (--client-id C | --client-id-default)\n"
     "                   [--add KEY=VALUE]... [--delete KEY]...\n"
     "    sets or removes quotas (AlterClientQuotas): producer_byte_rate and consumer_byte_rate, bytes a\n"
     "    second; request_percentage, the share of one request thread's time (50: half of a thread). A\n"
     "    client over its quota gets throttle_time_ms in its answers and is not read from until then;\n"
     "    the most specific entity wins (user and client id, user, default user, client id)\n"},
    {"groups",
     "mosaic groups list [-s|--state STATE]... [--type classic|consumer]...\n"
     "    every group (classic and KIP-848 consumer groups) with its type and state, from every\n"
     "    broker (each lists the groups it coordinates)\n"
     "mosaic groups describe GROUP\n"
     "    the group's coordinator (the broker leading its __consumer_offsets partition), the\n"
     "    members and, per partition, the committed offset, the end of the partition and the\n"
     "    consumer lag between them, with the member that owns the partition\n"
     "mosaic groups delete GROUP...\n"
     "    a group without members, and its committed offsets\n"
     "mosaic groups reset-offsets GROUP -t|--topic TOPIC [-p|--partition N]\n"
     "                             (--to earliest|latest|OFFSET | --to-timestamp MS) [--dry-run]\n"
     "    commits new offsets for a group with no active members\n"},
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a broker that hangs up is an error to report, not a signal that kills
  mosaic::log::set_level(mosaic::log::level::warn);
  std::vector<std::string> all(argv + 1, argv + argc);
  std::string bootstrap = std::getenv("MOSAIC_BOOTSTRAP") ? std::getenv("MOSAIC_BOOTSTRAP") : "127.0.0.1:9092";
  try {
    if (const char* file = std::getenv("MOSAIC_COMMAND_CONFIG"); file != nullptr && *file != '\0')
      load_command_config(file);
    for (size_t i = 0; i < all.size();) {
      if (all[i] == "--bootstrap" || all[i] == "-b") {
        if (i + 1 >= all.size()) usage_error("--bootstrap needs HOST:PORT");
        bootstrap = all[i + 1];
        all.erase(all.begin() + static_cast<long>(i), all.begin() + static_cast<long>(i) + 2);
      } else if (all[i] == "--command-config") {
        if (i + 1 >= all.size()) usage_error("--command-config needs a file");
        load_command_config(all[i + 1]);
        all.erase(all.begin() + static_cast<long>(i), all.begin() + static_cast<long>(i) + 2);
      } else {
        ++i;
      }
    }
    if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
      std::fputs(help_main, all.empty() ? stderr : stdout);
      return all.empty() ? 2 : 0;
    }
    const std::string command = all[0];
    if (!help_commands.count(command)) usage_error("unknown command '" + command + "'");
    if (std::find(all.begin(), all.end(), "--help") != all.end() ||
        std::find(all.begin(), all.end(), "-h") != all.end()) {
      std::fputs(help_commands.at(command), stdout);
      return 0;
    }
    if (command == "plugin") {
      if (all.size() < 2) usage_error("plugin needs a subcommand");
      const std::string verb = all[1];
      args rest(std::vector<std::string>(all.begin() + 2, all.end()));
      if (verb == "list" || verb == "history" || verb == "swap" || verb == "promote" || verb == "rollback")
        return plugin_cluster_command(bootstrap, verb, std::move(rest));
      return plugin_command(verb, std::move(rest));
    }
    if (command == "user") {
      if (all.size() < 2) usage_error("user needs a subcommand");
      return user_command(bootstrap, all[1], args(std::vector<std::string>(all.begin() + 2, all.end())));
    }
    if (command == "topic" || command == "cluster" || command == "groups" || command == "quorum" ||
        command == "share" || command == "partitions" || command == "acl" || command == "quota") {
      if (all.size() < 2) usage_error(command + " needs a subcommand");
      connection c(bootstrap);
      const std::string verb = all[1];
      args rest(std::vector<std::string>(all.begin() + 2, all.end()));
      if (command == "groups") return groups_command(c, verb, std::move(rest));
      if (command == "acl") return acl_command(c, verb, std::move(rest));
      if (command == "quota") return quota_command(c, verb, std::move(rest));
      if (command == "share") return share_command(c, verb, std::move(rest));
      if (command == "quorum") return quorum_command(c, verb, rest);
      if (command == "partitions") return partitions_command(c, verb, std::move(rest));
      return command == "topic" ? topic_command(c, verb, std::move(rest)) : cluster_command(c, verb, rest);
    }
    connection c(bootstrap);
    args rest(std::vector<std::string>(all.begin() + 1, all.end()));
    return command == "produce" ? produce_command(c, std::move(rest)) : consume_command(c, std::move(rest));
  } catch (const cli_error& e) {
    std::fprintf(stderr, "mosaic: %s\n", e.message.c_str());
    return e.exit_code;
  } catch (const mosaic::kafka::decode_error& e) {
    std::fprintf(stderr, "mosaic: the broker's answer did not decode: %s\n", e.what());
    return 1;
  }
}
