// Muster's C++ SDK, all of it: see sdk/cpp/README.md.
#pragma once

#include "muster/connection.h"
#include "muster/frame.h"
#include "muster/http.h"
#include "muster/json.h"
#include "muster/message_types.h"
#include "muster/posix_http.h"
#include "muster/rest_client.h"
#include "muster/rest_types.h"
#include "muster/status.h"
#include "muster/tcp_transport.h"
#include "muster/transport.h"
