// The shared PostgreSQL server of one ctest run (the `postgres` test fixture):
//   pg_test_cluster up STATE_FILE    starts a throwaway server and writes where it is
//   pg_test_cluster down STATE_FILE  stops it and deletes its folder
// Test processes find it through LATCHKEY_TEST_POSTGRES=STATE_FILE
// (src/store/postgres_test_cluster.h), so the run starts one server, not one per test.
#include <cstdio>
#include <string_view>

#include "store/postgres_test_cluster.h"

int main(int argc, char** argv) {
  using latchkey::store::testing::PostgresTestCluster;
  if (argc != 3) {
    std::fprintf(stderr, "usage: pg_test_cluster up|down STATE_FILE\n");
    return 2;
  }
  const std::string_view action = argv[1];
  const std::string state = argv[2];
  if (action == "up") {
    if (auto old = PostgresTestCluster::Attach(state); old.ok()) (*old)->Stop();  // an earlier run's
    auto cluster = PostgresTestCluster::StartNew();
    if (!cluster.ok()) {
      std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
      return 1;
    }
    if (auto saved = (*cluster)->SaveState(state); !saved.ok()) {
      std::fprintf(stderr, "%s\n", saved.ToString().c_str());
      return 1;
    }
    (*cluster)->Detach();
    std::printf("test PostgreSQL at %s\n", (*cluster)->Url("postgres").c_str());
    return 0;
  }
  if (action == "down") {
    auto cluster = PostgresTestCluster::Attach(state);
    if (!cluster.ok()) {
      std::printf("no test PostgreSQL running (%s)\n", cluster.status().ToString().c_str());
      return 0;
    }
    (*cluster)->Stop();
    std::remove(state.c_str());
    std::printf("test PostgreSQL stopped\n");
    return 0;
  }
  std::fprintf(stderr, "unknown action '%s'\n", argv[1]);
  return 2;
}
