// muster::HttpClient over the engine's HTTP module (FHttpModule), which
// brings HTTPS, the platform's certificates and its proxy settings.
//
// The SDK's interface is blocking, so send() waits for the engine's answer:
// call it from a worker thread, never from the game thread. The request
// completes on the engine's HTTP thread, so the wait depends on nothing the
// game thread does.
#pragma once

#include "MusterSdk.h"

class FUnrealHttpClient final : public muster::HttpClient
{
public:
	muster::Status send(const muster::HttpRequest& Request, muster::HttpResponse* Response) override;
};
