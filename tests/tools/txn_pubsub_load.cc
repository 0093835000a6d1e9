// txn_pubsub_load.cc — bounded load for the `multi` and `publish` cases of scripts/bench.
//
// Modes:
//   multi    --clients N threads, each on its own connection, send --transactions T in total
//            (split evenly), --depth D transactions per round trip, each one
//            MULTI, SET txn:<client>:<i> v (x --sets, default 10), EXEC. Every reply is checked:
//            OK for MULTI, QUEUED for each SET, an array of --sets OKs for EXEC.
//   publish  --subscribers S connections SUBSCRIBE one channel; one publisher connection sends
//            --messages M PUBLISHes ("msg:<i>"), --depth per round trip; each PUBLISH must
//            answer S. The subscribers are read by one thread with poll(); each must receive
//            every message, in order. The rate is deliveries (S x M) over the time from the
//            first PUBLISH to the last delivery.
// Prints one line `ops=.. seconds=.. rate=.. errors=..` (ops: transactions or deliveries).
// Exits 1 when a reply was wrong or a message was missing (or --deadline-s passed), 2 on bad
// usage or no server.
#include <hiredis/hiredis.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string mode;
  int port = 0;
  int clients = 10;
  long long transactions = 100000;
  int sets = 10;
  int depth = 1;
  int subscribers = 100;
  long long messages = 20000;
  int deadline_s = 120;
};

using Clock = std::chrono::steady_clock;

// Returns a connected context, or nullptr (after printing why) when the server cannot be reached.
redisContext* Connect(int port) {
  timeval timeout{30, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err) {
    std::fprintf(stderr, "txn_pubsub_load: connect to port %d: %s\n", port,
                 c ? c->errstr : "out of memory");
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, timeout);
  return c;
}

bool IsStatus(const redisReply* r, const char* text) {
  return r && r->type == REDIS_REPLY_STATUS && std::strcmp(r->str, text) == 0;
}

// One multi-mode client: returns the number of bad replies (0 on success); -1 when the
// connection failed.
long long RunTransactions(const Options& o, int client, long long count) {
  redisContext* c = Connect(o.port);
  if (!c) return -1;
  long long errors = 0;
  std::string key_prefix = "txn:" + std::to_string(client) + ":";
  for (long long done = 0; done < count && errors == 0;) {
    long long batch = std::min<long long>(o.depth, count - done);
    for (long long t = 0; t < batch; ++t) {
      redisAppendCommand(c, "MULTI");
      for (int s = 0; s < o.sets; ++s) {
        std::string key = key_prefix + std::to_string((done + t) * o.sets + s);
        redisAppendCommand(c, "SET %b v", key.data(), key.size());
      }
      redisAppendCommand(c, "EXEC");
    }
    for (long long t = 0; t < batch; ++t) {
      for (int i = 0; i < o.sets + 2; ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) {
          std::fprintf(stderr, "txn_pubsub_load: read: %s\n", c->errstr);
          redisFree(c);
          return errors + 1;
        }
        auto* r = static_cast<redisReply*>(raw);
        bool good;
        if (i == 0) {
          good = IsStatus(r, "OK");
        } else if (i <= o.sets) {
          good = IsStatus(r, "QUEUED");
        } else {
          good = r->type == REDIS_REPLY_ARRAY && r->elements == static_cast<size_t>(o.sets);
          for (size_t e = 0; good && e < r->elements; ++e) good = IsStatus(r->element[e], "OK");
        }
        if (!good && errors++ == 0) {
          std::fprintf(stderr, "txn_pubsub_load: unexpected reply type %d %s\n", r->type,
                       r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS ? r->str : "");
        }
        freeReplyObject(r);
      }
    }
    done += batch;
  }
  redisFree(c);
  return errors;
}

// Returns the process exit status of the multi mode.
int RunMulti(const Options& o) {
  std::vector<std::thread> threads;
  std::vector<long long> errors(o.clients, 0);
  auto start = Clock::now();
  for (int i = 0; i < o.clients; ++i) {
    long long share = o.transactions / o.clients + (i < o.transactions % o.clients ? 1 : 0);
    threads.emplace_back([&, i, share] { errors[i] = RunTransactions(o, i, share); });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  long long total_errors = 0;
  for (long long e : errors) {
    if (e < 0) return 2;
    total_errors += e;
  }
  std::printf("ops=%lld seconds=%.3f rate=%.0f errors=%lld\n", o.transactions, seconds,
              o.transactions / seconds, total_errors);
  return total_errors == 0 ? 0 : 1;
}

// Returns the process exit status of the publish mode.
int RunPublish(const Options& o) {
  const char* channel = "bench:channel";
  std::vector<redisContext*> subs;
  for (int i = 0; i < o.subscribers; ++i) {
    redisContext* c = Connect(o.port);
    if (!c) return 2;
    redisReply* r = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE %s", channel));
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
      std::fprintf(stderr, "txn_pubsub_load: SUBSCRIBE failed\n");
      return 2;
    }
    freeReplyObject(r);
    subs.push_back(c);
  }
  redisContext* pub = Connect(o.port);
  if (!pub) return 2;

  std::atomic<long long> publish_errors{0};
  std::vector<long long> received(o.subscribers, 0);
  long long out_of_order = 0;
  auto start = Clock::now();
  auto deadline = start + std::chrono::seconds(o.deadline_s);
  std::thread publisher([&] {
    for (long long sent = 0; sent < o.messages;) {
      long long batch = std::min<long long>(o.depth, o.messages - sent);
      for (long long i = 0; i < batch; ++i) {
        std::string msg = "msg:" + std::to_string(sent + i);
        redisAppendCommand(pub, "PUBLISH %s %b", channel, msg.data(), msg.size());
      }
      for (long long i = 0; i < batch; ++i) {
        void* raw = nullptr;
        if (redisGetReply(pub, &raw) != REDIS_OK) {
          publish_errors += o.messages;
          return;
        }
        auto* r = static_cast<redisReply*>(raw);
        if (r->type != REDIS_REPLY_INTEGER || r->integer != o.subscribers) ++publish_errors;
        freeReplyObject(r);
      }
      sent += batch;
    }
  });

  std::vector<pollfd> fds(o.subscribers);
  for (int i = 0; i < o.subscribers; ++i) fds[i] = {subs[i]->fd, POLLIN, 0};
  long long delivered = 0, expected = o.messages * o.subscribers;
  bool broken = false;
  while (delivered < expected && !broken && Clock::now() < deadline) {
    if (poll(fds.data(), fds.size(), 1000) < 0) break;
    for (int i = 0; i < o.subscribers; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
      if (redisBufferRead(subs[i]) != REDIS_OK) {
        std::fprintf(stderr, "txn_pubsub_load: subscriber %d: %s\n", i, subs[i]->errstr);
        broken = true;
        break;
      }
      void* raw = nullptr;
      while (redisGetReplyFromReader(subs[i], &raw) == REDIS_OK && raw != nullptr) {
        auto* r = static_cast<redisReply*>(raw);
        std::string want = "msg:" + std::to_string(received[i]);
        bool good = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                    r->element[2]->type == REDIS_REPLY_STRING &&
                    want.compare(0, want.size(), r->element[2]->str, r->element[2]->len) == 0 &&
                    want.size() == r->element[2]->len;
        if (!good) ++out_of_order;
        ++received[i];
        ++delivered;
        freeReplyObject(r);
        raw = nullptr;
      }
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  publisher.join();
  long long missing = expected - delivered;
  long long errors = publish_errors + out_of_order + (missing > 0 ? missing : 0);
  std::printf("ops=%lld seconds=%.3f rate=%.0f errors=%lld missing=%lld wrong=%lld\n", delivered,
              seconds, delivered / seconds, errors, missing, out_of_order);
  for (auto* c : subs) redisFree(c);
  redisFree(pub);
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--mode")
      o.mode = value;
    else if (flag == "--port")
      o.port = std::atoi(value);
    else if (flag == "--clients")
      o.clients = std::atoi(value);
    else if (flag == "--transactions")
      o.transactions = std::atoll(value);
    else if (flag == "--sets")
      o.sets = std::atoi(value);
    else if (flag == "--depth")
      o.depth = std::atoi(value);
    else if (flag == "--subscribers")
      o.subscribers = std::atoi(value);
    else if (flag == "--messages")
      o.messages = std::atoll(value);
    else if (flag == "--deadline-s")
      o.deadline_s = std::atoi(value);
    else {
      std::fprintf(stderr, "txn_pubsub_load: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (o.port <= 0 || o.clients <= 0 || o.depth <= 0 || o.sets <= 0 || o.subscribers <= 0) {
    std::fprintf(stderr, "usage: txn_pubsub_load --mode multi|publish --port P [options]\n");
    return 2;
  }
  if (o.mode == "multi") return RunMulti(o);
  if (o.mode == "publish") return RunPublish(o);
  std::fprintf(stderr, "txn_pubsub_load: --mode must be multi or publish\n");
  return 2;
}
