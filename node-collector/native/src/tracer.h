// The kernel side of capture: loads the socket tracer, attaches it, and drains its ring buffer on a reader thread.
// Knows nothing about Node.js: batches leave through a callback so the N-API layer stays in addon.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct socket_trace_bpf;
struct ring_buffer;

struct TracerOptions {
  uint32_t self_tgid = 0;
  uint32_t target_netns = 0;
  uint32_t capture_bytes = 4096;
  uint32_t ring_bytes = 16u << 20;
  uint32_t max_conns = 65536;
  uint64_t wakeup_bytes = 256u << 10;
  uint32_t poll_ms = 100;
  // Per-syscall copy for processes marked with SetFullCapture; 0 disables marking.
  uint32_t full_capture_bytes = 0;
  uint32_t full_capture_processes = 1024;
};

// A batch of records, each as [u32 size][u32 zero][record][zero padding to 8 bytes].
using Batch = std::vector<uint8_t>;

// Returns false when the batch could not be handed on (the consumer's queue is full); the tracer counts it.
using BatchSink = std::function<bool(std::unique_ptr<Batch>)>;

struct ProgramStats {
  std::string name;
  uint64_t run_time_ns;
  uint64_t run_count;
};

struct TracerCounters {
  std::vector<uint64_t> kernel_drops;  // by enum loupe_drop_reason
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t batches = 0;
  uint64_t batches_dropped = 0;
  uint64_t records_dropped = 0;
  std::vector<uint64_t> exchanges;  // by enum loupe_exchange_counter
};

class SocketTracer {
 public:
  // Opens, configures, loads and attaches. On failure returns null and fills `error` (with the verifier log).
  static std::unique_ptr<SocketTracer> Create(const TracerOptions& options, std::string* error);
  ~SocketTracer();

  bool Start(BatchSink sink, std::string* error);
  void Stop();  // joins the reader; safe to call twice
  TracerCounters Counters() const;
  // Marks (or unmarks) a process whose payloads are copied up to full_capture_bytes per syscall. Returns false
  // with errno set when the kernel map refuses (full, or the feature is off).
  bool SetFullCapture(uint32_t tgid, bool on);
  // The kernel side admits at most `exchanges` more exchanges (one count for every CPU), then sheds them whole
  // until the next call; negative means no limit. The collector's way of keeping its own CPU under a limit: a
  // shed exchange costs neither a copy into the ring nor any parsing. Returns false with errno set when the
  // kernel map refuses the update.
  bool SetExchangeAllowance(int64_t exchanges);
  // Tokens the kernel side still holds for exchanges (meaningful while an allowance is set).
  int64_t ExchangeTokens() const;
  std::vector<ProgramStats> Programs() const;

 private:
  explicit SocketTracer(const TracerOptions& options) : options_(options) {}
  static int OnRecord(void* ctx, void* data, size_t size);
  void ReadLoop();
  void FlushBatch();

  TracerOptions options_;
  socket_trace_bpf* skel_ = nullptr;
  ring_buffer* ring_ = nullptr;
  BatchSink sink_;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<Batch> batch_;
  uint64_t batch_records_ = 0;
  std::atomic<uint64_t> records_{0}, bytes_{0}, batches_{0}, batches_dropped_{0}, records_dropped_{0};
};

// Mounts tracefs at /sys/kernel/tracing when it is not mounted; returns an error message or "".
std::string EnsureTracefs();
