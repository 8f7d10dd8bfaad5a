// The `latchkey` binary.
#include "cli/context.h"

int main(int argc, char** argv) { return latchkey::cli::Main(argc, argv); }
