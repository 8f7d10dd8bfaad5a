// Internal to src/provider/: the rules a parsed provider entry must satisfy beyond
// field types (required fields per auth kind, URL safety, enum values, slugs).
// Pure function: any thread.
#pragma once

#include "common/status.h"
#include "provider/provider.h"
#include "provider/provider_fields.h"

namespace latchkey::provider::internal {

// Checks `definition` as read from a document whose field lines are in `locations`;
// fills defaults that depend on other fields (display_name). The first problem wins.
Status ValidateProvider(ProviderDefinition& definition, const FieldLocations& locations);

}  // namespace latchkey::provider::internal
