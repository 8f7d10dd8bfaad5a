// Test-only, header-only: a throwaway PostgreSQL server for the tests, and the
// StoreTestEnv that gives each test a fresh database on it. The server is made by
// initdb in a new temporary folder, listens on 127.0.0.1 (a free port, trust auth for
// that address only) and on a unix socket in the folder. PostgreSQL refuses to run as
// root, so as root the folder goes to the `postgres` user and initdb/pg_ctl run through
// runuser. Any thread may call PostgresTestCluster::Get(); the first call finds the
// server to use:
//  - under ctest, one server shared by every test process of the run: the `postgres_up`
//    fixture (tests/support/pg_test_cluster.cc) starts it and writes its port and folder
//    to the file named by LATCHKEY_TEST_POSTGRES, and `postgres_down` removes it;
//  - otherwise (a test binary run by hand) a server of its own, stopped and deleted when
//    the binary exits.
#pragma once

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "common/random.h"
#include "store/postgres_store.h"
#include "store/store_contract_test.h"

namespace latchkey::store::testing {

class PostgresTestCluster {
 public:
  // The cluster this process uses, found or started on first use, or why there is none.
  static StatusOr<PostgresTestCluster*> Get() {
    static std::mutex mu;
    static std::unique_ptr<PostgresTestCluster> cluster;
    static Status failure;
    std::lock_guard lock(mu);
    if (cluster) return cluster.get();
    if (!failure.ok()) return failure;
    if (const char* state = std::getenv("LATCHKEY_TEST_POSTGRES")) {  // NOLINT(concurrency-mt-unsafe)
      auto shared = Attach(state);
      if (shared.ok()) {
        cluster = std::move(*shared);
        return cluster.get();
      }
    }
    auto started = StartNew();
    if (!started.ok()) {
      failure = started.status();
      return failure;
    }
    cluster = std::move(*started);
    return cluster.get();
  }

  // A new server, stopped and deleted with this object unless Detach()ed.
  static StatusOr<std::unique_ptr<PostgresTestCluster>> StartNew() {
    auto started = std::unique_ptr<PostgresTestCluster>(new PostgresTestCluster());
    LATCHKEY_RETURN_IF_ERROR(started->Start());
    return started;
  }

  // The server described by a state file (SaveState), left running when this is destroyed.
  static StatusOr<std::unique_ptr<PostgresTestCluster>> Attach(const std::string& state_file) {
    auto attached = std::unique_ptr<PostgresTestCluster>(new PostgresTestCluster());
    std::ifstream in(state_file);
    if (!(in >> attached->port_ >> attached->dir_)) return NotFoundError("no test cluster in " + state_file);
    attached->owner_ = 0;
    LATCHKEY_RETURN_IF_ERROR(attached->Admin("SELECT 1"));
    return attached;
  }

  Status SaveState(const std::string& state_file) const {
    std::ofstream out(state_file, std::ios::trunc);
    out << port_ << "\n" << dir_ << "\n";
    return out.flush() ? Status::Ok() : InternalError("cannot write " + state_file);
  }
  // Stops the server (ending every session) but keeps its data and port, for Resume().
  Status Pause() {
    if (Shell(AsServerUser(kBin + "pg_ctl -D " + Data() + " -m fast -w stop") + " >/dev/null 2>&1") != 0) {
      return InternalError("pg_ctl stop failed; see " + dir_ + "/server.log");
    }
    return Status::Ok();
  }
  Status Resume() {
    return StartServer(port_) ? Status::Ok()
                              : InternalError("pg_ctl start failed; see " + dir_ + "/server.log");
  }
  // Leaves the server running after this object is gone (Attach + Stop end it later).
  void Detach() { owner_ = 0; }
  // Stops the server and deletes its folder.
  void Stop() {
    if (port_ != 0)
      Shell(AsServerUser(kBin + "pg_ctl -D " + Data() + " -m fast -w stop") + " >/dev/null 2>&1");
    port_ = 0;
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  ~PostgresTestCluster() {
    // Only the process that started it stops it: not a forked test child that exits
    // normally, nor a process that attached to a shared server.
    if (getpid() == owner_) Stop();
  }
  PostgresTestCluster(const PostgresTestCluster&) = delete;
  PostgresTestCluster& operator=(const PostgresTestCluster&) = delete;

  std::string Url(const std::string& database) const {
    return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  // Runs one statement outside a transaction (CREATE/DROP DATABASE) on the postgres database.
  Status Admin(const std::string& sql) const {
    try {
      pqxx::connection connection(Url("postgres"));
      pqxx::nontransaction txn(connection);
      txn.exec(sql);
      txn.commit();
      return Status::Ok();
    } catch (const std::exception& e) {
      return InternalError(std::string("'") + sql + "' failed: " + e.what());
    }
  }

 private:
  static inline const std::string kBin = "/usr/lib/postgresql/15/bin/";

  PostgresTestCluster() = default;

  static int Shell(const std::string& command) { return std::system(command.c_str()); }  // NOLINT
  std::string AsServerUser(const std::string& command) const {
    return geteuid() == 0 ? "runuser -u postgres -- " + command : command;
  }
  std::string Data() const { return dir_ + "/data"; }

  // A port nobody listens on right now (the kernel's pick for port 0).
  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    close(fd);
    return port;
  }

  Status Start() {
    std::string pattern = (std::filesystem::temp_directory_path() / "latchkey-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return InternalError("mkdtemp failed");
    dir_ = pattern;
    if (geteuid() == 0) {
      passwd* user = getpwnam("postgres");  // NOLINT(concurrency-mt-unsafe): under Get()'s mutex
      if (user == nullptr || chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
        return InternalError("running as root needs the 'postgres' user to own " + dir_);
      }
    }
    if (Shell(AsServerUser(kBin + "initdb -D " + Data() +
                           " -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync --no-instructions") +
              " >" + dir_ + "/initdb.log 2>&1") != 0) {
      return InternalError("initdb failed; see " + dir_ + "/initdb.log");
    }
    std::ofstream(Data() + "/pg_hba.conf", std::ios::trunc) << "host all all 127.0.0.1/32 trust\n";
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (StartServer(FreePort())) return Status::Ok();
    }
    return InternalError("pg_ctl start failed; see " + dir_ + "/server.log");
  }

  bool StartServer(int port) {
    // Durability is not under test here; skipping fsync keeps CREATE DATABASE fast.
    const std::string settings =
        "-c listen_addresses=127.0.0.1 -k " + dir_ +
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
    if (Shell(AsServerUser(kBin + "pg_ctl -D " + Data() + " -l " + dir_ + "/server.log -w -t 60 -o '" +
                           settings + " -p " + std::to_string(port) + "' start") +
              " >/dev/null 2>&1") != 0) {
      return false;
    }
    port_ = port;
    return true;
  }

  pid_t owner_ = getpid();
  std::string dir_;
  int port_ = 0;
};

// A fresh database on the test cluster, dropped when destroyed.
class PostgresTestEnv final : public StoreTestEnv {
 public:
  PostgresTestEnv() : database_("latchkey_test_" + SystemRandom::Instance().Hex(8)) {
    StatusOr<PostgresTestCluster*> cluster = PostgresTestCluster::Get();
    if (!cluster.ok()) {
      ready_ = cluster.status();
      return;
    }
    cluster_ = *cluster;
    ready_ = cluster_->Admin("CREATE DATABASE " + database_);
  }
  ~PostgresTestEnv() override {
    // FORCE ends sessions left behind, e.g. by a test child that was killed.
    if (cluster_ != nullptr) (void)cluster_->Admin("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
  }
  PostgresTestEnv(const PostgresTestEnv&) = delete;
  PostgresTestEnv& operator=(const PostgresTestEnv&) = delete;

  StatusOr<std::shared_ptr<Store>> Open() override { return Open(std::chrono::milliseconds(10000)); }
  StatusOr<std::shared_ptr<Store>> Open(std::chrono::milliseconds busy_wait) {
    if (!ready_.ok()) return ready_;
    return OpenPostgresStore({.url = Url(), .busy_wait = busy_wait}, SystemClock::Instance());
  }
  std::string Url() const { return cluster_ == nullptr ? "" : cluster_->Url(database_); }

 private:
  std::string database_;
  PostgresTestCluster* cluster_ = nullptr;
  Status ready_;
};

}  // namespace latchkey::store::testing
