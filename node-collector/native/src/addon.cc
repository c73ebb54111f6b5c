// N-API surface of the capture addon: a thin layer that moves options in and raw batches out. All decoding of the
// records happens in TypeScript (node-collector/src/capture/wire.ts).
#include <linux/types.h>
#include <napi.h>

#include <malloc.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "socket_trace.h"
#include "tracer.h"

namespace {

uint32_t OptionU32(const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

class TracerHandle : public Napi::ObjectWrap<TracerHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Tracer",
                       {InstanceMethod("start", &TracerHandle::StartReading),
                        InstanceMethod("close", &TracerHandle::Close),
                        InstanceMethod("counters", &TracerHandle::GetCounters),
                        InstanceMethod("programs", &TracerHandle::GetPrograms),
                        InstanceMethod("setFullCapture", &TracerHandle::SetFullCapture),
                        InstanceMethod("setExchangeAllowance", &TracerHandle::SetExchangeAllowance),
                        InstanceMethod("exchangeTokens", &TracerHandle::ExchangeTokens)});
  }

  // new Tracer({selfTgid, targetNetns, captureBytes, ringBytes, maxConns, wakeupBytes, pollMs, queueBatches,
  //             fullCaptureBytes, fullCaptureProcesses})
  explicit TracerHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TracerHandle>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "Tracer expects an options object").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    TracerOptions opts;
    opts.self_tgid = OptionU32(o, "selfTgid", opts.self_tgid);
    opts.target_netns = OptionU32(o, "targetNetns", opts.target_netns);
    opts.capture_bytes = OptionU32(o, "captureBytes", opts.capture_bytes);
    opts.ring_bytes = OptionU32(o, "ringBytes", opts.ring_bytes);
    opts.max_conns = OptionU32(o, "maxConns", opts.max_conns);
    opts.wakeup_bytes = OptionU32(o, "wakeupBytes", static_cast<uint32_t>(opts.wakeup_bytes));
    opts.poll_ms = OptionU32(o, "pollMs", opts.poll_ms);
    opts.full_capture_bytes = OptionU32(o, "fullCaptureBytes", opts.full_capture_bytes);
    opts.full_capture_processes = OptionU32(o, "fullCaptureProcesses", opts.full_capture_processes);
    queue_batches_ = OptionU32(o, "queueBatches", 64);
    if (opts.capture_bytes > LOUPE_MAX_CAPTURE) {
      Napi::RangeError::New(env, "captureBytes is larger than the kernel side's ceiling")
          .ThrowAsJavaScriptException();
      return;
    }
    std::string error = EnsureTracefs();
    if (error.empty()) tracer_ = SocketTracer::Create(opts, &error);
    if (!tracer_) Napi::Error::New(env, error).ThrowAsJavaScriptException();
  }

  ~TracerHandle() override { Shutdown(); }

 private:
  static void DeliverBatch(Napi::Env env, Napi::Function callback, Batch* batch) {
    if (env == nullptr) {  // the environment is going away
      delete batch;
      return;
    }
    // V8 is told the batch's size: a batch is freed only when its Buffer is collected, and without the hint a
    // collection is not hurried by tens of MiB of dead batches held outside the heap.
    const int64_t bytes = static_cast<int64_t>(batch->capacity());
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes);
    auto buffer = Napi::Buffer<uint8_t>::New(
        env, batch->data(), batch->size(),
        [bytes](Napi::Env finalizing, uint8_t*, Batch* b) {
          delete b;
          Napi::MemoryManagement::AdjustExternalMemory(finalizing, -bytes);
        },
        batch);
    callback.Call({buffer});
  }

  // start(onBatch): onBatch(Buffer) runs on the main thread for every batch of records.
  Napi::Value StartReading(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!tracer_ || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "start expects a callback on an open tracer").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "loupe-capture", queue_batches_, 1);
    Napi::ThreadSafeFunction tsfn = tsfn_;
    // NonBlockingCall refuses when the queue is full: the reader never waits on JavaScript, it counts the batch.
    auto sink = [tsfn](std::unique_ptr<Batch> batch) mutable {
      Batch* raw = batch.release();
      if (tsfn.NonBlockingCall(raw, DeliverBatch) != napi_ok) {
        delete raw;
        return false;
      }
      return true;
    };
    std::string error;
    if (!tracer_->Start(sink, &error)) {
      tsfn_.Release();
      Napi::Error::New(env, error).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    started_ = true;
    return env.Undefined();
  }

  void Shutdown() {
    if (tracer_) tracer_->Stop();
    if (started_) {
      tsfn_.Release();
      started_ = false;
    }
    tracer_.reset();  // detaches the programs and frees the maps
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  Napi::Value GetCounters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    if (!tracer_) return out;
    TracerCounters c = tracer_->Counters();
    Napi::Array drops = Napi::Array::New(env, c.kernel_drops.size());
    for (size_t i = 0; i < c.kernel_drops.size(); i++) drops[i] = Napi::Number::New(env, c.kernel_drops[i]);
    out["kernelDrops"] = drops;
    out["records"] = Napi::Number::New(env, c.records);
    out["bytes"] = Napi::Number::New(env, c.bytes);
    out["batches"] = Napi::Number::New(env, c.batches);
    out["batchesDropped"] = Napi::Number::New(env, c.batches_dropped);
    out["recordsDropped"] = Napi::Number::New(env, c.records_dropped);
    Napi::Array exchanges = Napi::Array::New(env, c.exchanges.size());
    for (size_t i = 0; i < c.exchanges.size(); i++) exchanges[i] = Napi::Number::New(env, c.exchanges[i]);
    out["exchanges"] = exchanges;
    return out;
  }

  // setFullCapture(tgid, on): false when the kernel map is full (the caller counts it).
  Napi::Value SetFullCapture(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber() || !info[1].IsBoolean()) {
      Napi::TypeError::New(env, "setFullCapture(tgid: number, on: boolean)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!tracer_) return Napi::Boolean::New(env, false);
    return Napi::Boolean::New(env, tracer_->SetFullCapture(info[0].As<Napi::Number>().Uint32Value(),
                                                           info[1].As<Napi::Boolean>().Value()));
  }

  // setExchangeAllowance(exchanges): exchanges the kernel side may still admit (negative: no limit); the rest are
  // shed whole and counted (counters().exchanges).
  Napi::Value SetExchangeAllowance(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) {
      Napi::TypeError::New(env, "setExchangeAllowance(exchanges: number)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (tracer_ && !tracer_->SetExchangeAllowance(info[0].As<Napi::Number>().Int64Value())) {
      Napi::Error::New(env, std::string("cannot set the exchange allowance: ") + strerror(errno))
          .ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // exchangeTokens(): exchanges the kernel side may still admit under the allowance last set.
  Napi::Value ExchangeTokens(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Napi::Number::New(env, tracer_ ? static_cast<double>(tracer_->ExchangeTokens()) : 0.0);
  }

  Napi::Value GetPrograms(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env);
    if (!tracer_) return out;
    uint32_t i = 0;
    for (const ProgramStats& p : tracer_->Programs()) {
      Napi::Object o = Napi::Object::New(env);
      o["name"] = p.name;
      o["runTimeNs"] = Napi::Number::New(env, p.run_time_ns);
      o["runCount"] = Napi::Number::New(env, p.run_count);
      out[i++] = o;
    }
    return out;
  }

  std::unique_ptr<SocketTracer> tracer_;
  Napi::ThreadSafeFunction tsfn_;
  uint32_t queue_batches_ = 64;
  bool started_ = false;
};

// layout(): sizes and offsets of the wire structs, for the test that checks the TypeScript decoder against them.
Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  auto add = [&](const char* name, size_t value) { out[name] = Napi::Number::New(env, value); };
  add("header.size", sizeof(loupe_event_header));
  add("header.ts_ns", offsetof(loupe_event_header, ts_ns));
  add("header.generation", offsetof(loupe_event_header, generation));
  add("header.tgid", offsetof(loupe_event_header, tgid));
  add("header.fd", offsetof(loupe_event_header, fd));
  add("header.kind", offsetof(loupe_event_header, kind));
  add("header.role", offsetof(loupe_event_header, role));
  add("header.protocol", offsetof(loupe_event_header, protocol));
  add("header.direction", offsetof(loupe_event_header, direction));
  add("header.flags", offsetof(loupe_event_header, flags));
  add("data.size", sizeof(loupe_data_event));
  add("data.pos", offsetof(loupe_data_event, pos));
  add("data.size_field", offsetof(loupe_data_event, size));
  add("data.captured", offsetof(loupe_data_event, captured));
  add("open.size", sizeof(loupe_open_event));
  add("open.family", offsetof(loupe_open_event, family));
  add("open.local_port", offsetof(loupe_open_event, local_port));
  add("open.remote_port", offsetof(loupe_open_event, remote_port));
  add("open.preexisting", offsetof(loupe_open_event, preexisting));
  add("open.netns", offsetof(loupe_open_event, netns));
  add("open.local_addr", offsetof(loupe_open_event, local_addr));
  add("open.remote_addr", offsetof(loupe_open_event, remote_addr));
  add("open.comm", offsetof(loupe_open_event, comm));
  add("close.size", sizeof(loupe_close_event));
  add("close.bytes_sent", offsetof(loupe_close_event, bytes_sent));
  add("close.bytes_recv", offsetof(loupe_close_event, bytes_recv));
  add("max_capture", LOUPE_MAX_CAPTURE);
  add("drop_reasons", LOUPE_DROP__COUNT);
  return out;
}

// trimMalloc(): hands the free memory of every malloc arena back to the system (glibc's malloc_trim).
Napi::Value TrimMalloc(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports["Tracer"] = TracerHandle::Define(env);
  exports["layout"] = Napi::Function::New(env, Layout);
  exports["trimMalloc"] = Napi::Function::New(env, TrimMalloc);
  return exports;
}

}  // namespace

NODE_API_MODULE(loupe_capture, Init)
