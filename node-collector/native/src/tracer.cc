#include "tracer.h"

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "socket_trace.h"
#include "socket_trace.skel.h"

namespace {

// A batch is handed to JavaScript once it holds this much, or at the end of every poll.
constexpr size_t kMaxBatchBytes = 1u << 20;

// libbpf reports through a global print hook. While a load runs, its warnings and notices are collected so that a
// failed load can carry the verifier's log; outside loads only warnings reach stderr. Debug lines (a line per CO-RE
// relocation, hundreds of KiB) are left out, and a log longer than kMaxLoadLog keeps its end, where the verifier
// says what it refused.
constexpr size_t kMaxLoadLog = 256u << 10;
std::mutex g_log_mutex;
std::string* g_load_log = nullptr;

int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_load_log != nullptr) {
    if (level == LIBBPF_DEBUG) return 0;
    // The verifier's log comes as one message, often far longer than a line.
    va_list again;
    va_copy(again, args);
    const int length = vsnprintf(nullptr, 0, format, again);
    va_end(again);
    if (length <= 0) return 0;
    std::string message(static_cast<size_t>(length) + 1, '\0');
    vsnprintf(message.data(), message.size(), format, args);
    message.pop_back();
    g_load_log->append(message);
    if (g_load_log->size() > kMaxLoadLog) g_load_log->erase(0, g_load_log->size() - kMaxLoadLog);
  } else if (level == LIBBPF_WARN) {
    char line[4096];
    vsnprintf(line, sizeof(line), format, args);
    fputs(line, stderr);
  }
  return 0;
}

// Sums a per-CPU array of u64 counters, entry by entry.
std::vector<uint64_t> SumPerCpu(int fd, uint32_t entries) {
  const int ncpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(ncpus > 0 ? ncpus : 1);
  std::vector<uint64_t> totals;
  for (uint32_t key = 0; key < entries; key++) {
    uint64_t total = 0;
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) == 0) {
      for (uint64_t v : per_cpu) total += v;
    }
    totals.push_back(total);
  }
  return totals;
}

}  // namespace

std::string EnsureTracefs() {
  struct stat st;
  if (stat("/sys/kernel/tracing/events", &st) == 0) return "";
  if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0) {
    return std::string("cannot mount tracefs at /sys/kernel/tracing: ") + strerror(errno);
  }
  return "";
}

std::unique_ptr<SocketTracer> SocketTracer::Create(const TracerOptions& options, std::string* error) {
  std::unique_ptr<SocketTracer> tracer(new SocketTracer(options));
  std::string log;
  {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    libbpf_set_print(LibbpfPrint);
    g_load_log = &log;
  }
  auto finish_log = [] {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    g_load_log = nullptr;
  };

  tracer->skel_ = socket_trace_bpf__open();
  if (tracer->skel_ == nullptr) {
    finish_log();
    *error = std::string("cannot open the socket tracer: ") + strerror(errno) + "\n" + log;
    return nullptr;
  }
  auto* skel = tracer->skel_;
  skel->rodata->self_tgid = options.self_tgid;
  skel->rodata->target_netns = options.target_netns;
  skel->rodata->capture_bytes = options.capture_bytes;
  skel->rodata->wakeup_bytes = options.wakeup_bytes;
  skel->rodata->full_capture_bytes = options.full_capture_bytes;
  bpf_map__set_max_entries(skel->maps.full_capture, options.full_capture_processes);
  bpf_map__set_max_entries(skel->maps.events, options.ring_bytes);
  bpf_map__set_max_entries(skel->maps.conns, options.max_conns);

  // The verifier gives up with EAGAIN when a signal arrives while it works, and a sampling profiler (node
  // --cpu-prof) signals this thread every few ms: hold signals until the load is done, then take them.
  sigset_t all_signals;
  sigset_t previous_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_BLOCK, &all_signals, &previous_mask);
  int err = socket_trace_bpf__load(skel);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  if (err == 0) err = socket_trace_bpf__attach(skel);
  finish_log();
  if (err != 0) {
    *error = std::string("cannot load or attach the socket tracer: ") + strerror(-err) + "\n" + log;
    return nullptr;
  }
  tracer->ring_ = ring_buffer__new(bpf_map__fd(skel->maps.events), &SocketTracer::OnRecord, tracer.get(), nullptr);
  if (tracer->ring_ == nullptr) {
    *error = std::string("cannot open the ring buffer: ") + strerror(errno);
    return nullptr;
  }
  return tracer;
}

SocketTracer::~SocketTracer() {
  Stop();
  if (ring_ != nullptr) ring_buffer__free(ring_);
  if (skel_ != nullptr) socket_trace_bpf__destroy(skel_);
}

bool SocketTracer::Start(BatchSink sink, std::string* error) {
  if (reader_.joinable()) {
    *error = "the tracer is already started";
    return false;
  }
  sink_ = std::move(sink);
  stopping_ = false;
  batch_ = std::make_unique<Batch>();
  reader_ = std::thread(&SocketTracer::ReadLoop, this);
  return true;
}

void SocketTracer::Stop() {
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
}

// Wake-ups are rare by design (a CPU forces one only after writing wakeup_bytes since its last), so the loop also
// consumes on every poll timeout: records never wait longer than poll_ms.
void SocketTracer::ReadLoop() {
  pthread_setname_np(pthread_self(), "loupe-reader");  // named in top -H and perf
  while (!stopping_) {
    ring_buffer__poll(ring_, static_cast<int>(options_.poll_ms));
    ring_buffer__consume(ring_);
    FlushBatch();
  }
  ring_buffer__consume(ring_);
  FlushBatch();
}

int SocketTracer::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<SocketTracer*>(ctx);
  self->records_++;
  self->bytes_ += size;
  Batch& batch = *self->batch_;
  const uint32_t header[2] = {static_cast<uint32_t>(size), 0};
  const size_t padded = (size + 7) & ~size_t{7};
  const size_t at = batch.size();
  batch.resize(at + sizeof(header) + padded);
  memcpy(batch.data() + at, header, sizeof(header));
  memcpy(batch.data() + at + sizeof(header), data, size);
  memset(batch.data() + at + sizeof(header) + size, 0, padded - size);
  self->batch_records_++;
  if (batch.size() >= kMaxBatchBytes) self->FlushBatch();
  return 0;
}

void SocketTracer::FlushBatch() {
  if (batch_->empty()) return;
  const uint64_t records = batch_records_;
  batch_records_ = 0;
  std::unique_ptr<Batch> full = std::move(batch_);
  batch_ = std::make_unique<Batch>();
  batch_->reserve(64u << 10);
  if (sink_(std::move(full))) {
    batches_++;
  } else {
    batches_dropped_++;
    records_dropped_ += records;
  }
}

TracerCounters SocketTracer::Counters() const {
  TracerCounters c;
  c.records = records_;
  c.bytes = bytes_;
  c.batches = batches_;
  c.batches_dropped = batches_dropped_;
  c.records_dropped = records_dropped_;
  c.kernel_drops = SumPerCpu(bpf_map__fd(skel_->maps.drops), LOUPE_DROP__COUNT);
  c.exchanges = SumPerCpu(bpf_map__fd(skel_->maps.exchanges), LOUPE_EXCH__COUNT);
  return c;
}

bool SocketTracer::SetExchangeAllowance(int64_t exchanges) {
  if (exchanges < 0) {
    skel_->bss->admit_limited = 0;
    return true;
  }
  const uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.admission), &zero, &exchanges, BPF_ANY) != 0) return false;
  skel_->bss->admit_limited = 1;
  return true;
}

int64_t SocketTracer::ExchangeTokens() const {
  const uint32_t zero = 0;
  int64_t tokens = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.admission), &zero, &tokens) != 0) return 0;
  return tokens;
}

bool SocketTracer::SetFullCapture(uint32_t tgid, bool on) {
  const int fd = bpf_map__fd(skel_->maps.full_capture);
  if (!on) return bpf_map_delete_elem(fd, &tgid) == 0 || errno == ENOENT;
  const uint8_t one = 1;
  return bpf_map_update_elem(fd, &tgid, &one, BPF_ANY) == 0;
}

std::vector<ProgramStats> SocketTracer::Programs() const {
  std::vector<ProgramStats> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) continue;
    out.push_back({bpf_program__name(prog), info.run_time_ns, info.run_cnt});
  }
  return out;
}
