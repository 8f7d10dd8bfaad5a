#include "gateway/proxy/audit_log.h"

#include <algorithm>
#include <optional>

#include "common/encoding.h"
#include "common/log.h"
#include "common/thread_name.h"

namespace latchkey::gateway {

namespace {

// The most rows of room the writer keeps between batches in each of its two buffers:
// six times a batch at 50,000 calls a second (3.7 MB each).
constexpr size_t kKeptRows = 16384;

// Text a store takes: valid UTF-8 without NUL (checked in one pass over plain ASCII, the
// usual case).
void MakeStorable(std::string& text) {
  const bool plain = std::ranges::all_of(text, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u != 0 && u < 0x80;
  });
  if (plain) return;
  if (!IsValidUtf8(text)) text = ToValidUtf8(text);
  std::erase(text, '\0');
}

// The row the store refused, with its most outside-controlled field replaced.
store::AuditRecord Replaced(store::AuditRecord row) {
  row.path = "(refused by the store)";
  return row;
}

}  // namespace

AuditLog::AuditLog(store::Store& store, std::chrono::milliseconds interval, size_t max_queue,
                   std::chrono::milliseconds stop_grace)
    : store_(store), interval_(interval), max_queue_(max_queue), stop_grace_(stop_grace), thread_([this] {
        NameThisThread("lk-audit");
        Run();
      }) {}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Record(store::AuditRecord&& record) {
  for (std::string* text :
       {&record.agent, &record.client, &record.connection, &record.method, &record.path, &record.code}) {
    MakeStorable(*text);
  }
  std::lock_guard lock(mu_);
  ++recorded_;
  if (queue_.size() >= max_queue_) {
    ++dropped_;
    ++done_;
    return;
  }
  queue_.push_back(std::move(record));
}

void AuditLog::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = recorded_;
  wake_.notify_all();
  written_.wait(lock, [&] { return done_ >= target || !thread_.joinable(); });
}

void AuditLog::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t AuditLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

size_t AuditLog::replaced() const {
  std::lock_guard lock(mu_);
  return replaced_;
}

uint64_t AuditLog::refused_attempts() const {
  std::lock_guard lock(mu_);
  return refused_;
}

bool AuditLog::AwaitRefusedAttempts(uint64_t count, std::chrono::milliseconds limit) const {
  std::unique_lock lock(mu_);
  return written_.wait_for(lock, limit, [&] { return refused_ >= count; });
}

std::vector<store::AuditRecord> AuditLog::WriteEachAlone(std::vector<store::AuditRecord> batch) {
  size_t written = 0;
  size_t replaced = 0;
  size_t dropped = 0;
  size_t next = 0;
  for (; next < batch.size(); ++next) {
    Status alone = store_.AppendAudit(batch[next]);
    if (alone.code() == StatusCode::kInvalidArgument) {
      spdlog::warn("audit: the store refused a row of agent '{}' ({}); writing it without its path",
                   batch[next].agent, alone.message());
      alone = store_.AppendAudit(Replaced(batch[next]));
      if (alone.code() == StatusCode::kInvalidArgument) {
        spdlog::error("audit: the store refused a row of agent '{}' even without its path ({}); dropped",
                      batch[next].agent, alone.message());
        ++dropped;
        continue;
      }
      if (alone.ok()) ++replaced;
    }
    if (!alone.ok()) break;  // unavailable now: the rest waits
    ++written;
  }
  std::lock_guard lock(mu_);
  replaced_ += replaced;
  dropped_ += dropped;
  done_ += written + dropped;
  written_.notify_all();
  return {std::make_move_iterator(batch.begin() + static_cast<std::ptrdiff_t>(next)),
          std::make_move_iterator(batch.end())};
}

void AuditLog::Run() {
  std::unique_lock lock(mu_);
  bool failing = false;  // the store refused the last batch
  std::optional<std::chrono::steady_clock::time_point> give_up;
  // The rows being written. It and queue_ trade places each batch and keep their room, so
  // the I/O threads append into memory already theirs: a new buffer every batch (some
  // 2,500 rows, 600 KB, every 50 ms at full load) made them page-fault 20 times in 1,000
  // calls as they wrote into it (bench/gateway/RESULTS.md, stop 46), and its growth moved
  // the rows under the lock.
  std::vector<store::AuditRecord> batch;
  for (;;) {
    wake_.wait_for(lock, interval_, [this, failing] { return stopping_ && !failing; });
    if (stopping_ && !give_up) give_up = std::chrono::steady_clock::now() + stop_grace_;
    if (!queue_.empty()) {
      batch.swap(queue_);
      lock.unlock();
      Status written = store_.AppendAudit(batch);
      if (written.code() == StatusCode::kInvalidArgument) {
        // A value of one row, most likely: the others must not wait for it.
        batch = WriteEachAlone(std::move(batch));
        // (It counted what it wrote; what it could not try is held below.)
        written = batch.empty() ? Status::Ok() : UnavailableError("the store became unavailable");
      }
      lock.lock();
      if (written.ok()) {
        if (failing) spdlog::info("audit: the store takes rows again");
        failing = false;
        done_ += batch.size();
        written_.notify_all();
        lock.unlock();  // the rows are let go of without holding up Record()
        batch.clear();
        // Room for a backlog (an outage's, up to max_queue_ rows) is not kept for good.
        if (batch.capacity() > kKeptRows) batch = {};
        lock.lock();
      } else if (give_up && std::chrono::steady_clock::now() >= *give_up) {
        spdlog::error("audit: stopping with {} row(s) the store still refuses: {}",
                      batch.size() + queue_.size(), written.message());
        dropped_ += batch.size() + queue_.size();
        done_ += batch.size() + queue_.size();
        queue_.clear();
        break;
      } else {
        // Keep the rows, in order, ahead of those queued meanwhile, and try again.
        if (!failing) spdlog::warn("audit: the store refuses rows ({}); holding them", written.message());
        failing = true;
        ++refused_;
        written_.notify_all();
        batch.insert(batch.end(), std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.end()));
        queue_ = std::move(batch);
        batch = {};
      }
    }
    if (stopping_ && queue_.empty()) break;
  }
  written_.notify_all();
}

}  // namespace latchkey::gateway
