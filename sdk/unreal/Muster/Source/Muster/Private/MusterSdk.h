// The C++ SDK's headers, for the plugin's engine code. The SDK and the
// generated protobuf messages are third-party code to the engine: their
// headers are read with the engine's warnings relaxed, and with the
// engine's one-word macros (check, verify) put aside so that no name in
// them is taken for a macro.
#pragma once

#include "CoreMinimal.h"

THIRD_PARTY_INCLUDES_START
#pragma push_macro("check")
#pragma push_macro("verify")
#undef check
#undef verify

#include "muster/connection.h"
#include "muster/http.h"
#include "muster/json.h"
#include "muster/rest_client.h"
#include "muster/transport.h"

#pragma pop_macro("verify")
#pragma pop_macro("check")
THIRD_PARTY_INCLUDES_END

// std::string (UTF-8) and FString, both ways.
inline FString MusterToFString(const std::string& S) { return FString(UTF8_TO_TCHAR(S.c_str())); }
inline std::string MusterToStd(const FString& S) { return std::string(TCHAR_TO_UTF8(*S)); }
