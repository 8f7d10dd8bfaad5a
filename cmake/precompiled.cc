// The translation unit that builds cmake/precompiled.h's precompiled header, which the
// PRECOMPILED modules reuse (cmake/Modules.cmake).
