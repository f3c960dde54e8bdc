#include "UnrealHttpClient.h"

#include "CoreGlobals.h"
#include "HAL/Event.h"
#include "HAL/PlatformProcess.h"
#include "HttpModule.h"
#include "Interfaces/IHttpRequest.h"
#include "Interfaces/IHttpResponse.h"

namespace
{
// What the completion hands back to the waiting thread. Shared with the
// completion delegate, so that an answer arriving after a timeout finds it
// alive.
struct FExchange
{
	FEvent* Done = FPlatformProcess::GetSynchEventFromPool(true);
	bool bConnected = false;
	int32 Code = 0;
	TArray<FString> Headers;
	TArray<uint8> Body;

	~FExchange() { FPlatformProcess::ReturnSynchEventToPool(Done); }
};
}

muster::Status FUnrealHttpClient::send(const muster::HttpRequest& Request, muster::HttpResponse* Response)
{
	check(!IsInGameThread());  // the wait would stall the frame

	const TSharedRef<IHttpRequest, ESPMode::ThreadSafe> Http = FHttpModule::Get().CreateRequest();
	Http->SetURL(MusterToFString(Request.url));
	Http->SetVerb(MusterToFString(Request.method));
	for (const auto& Header : Request.headers)
	{
		Http->SetHeader(MusterToFString(Header.first), MusterToFString(Header.second));
	}
	if (!Request.body.empty())
	{
		TArray<uint8> Body;
		Body.Append(reinterpret_cast<const uint8*>(Request.body.data()), static_cast<int32>(Request.body.size()));
		Http->SetContent(Body);
	}
	const float TimeoutSeconds = static_cast<float>(Request.timeout.count()) / 1000.0f;
	Http->SetTimeout(TimeoutSeconds);
	Http->SetDelegateThreadPolicy(EHttpRequestDelegateThreadPolicy::CompleteOnHttpThread);

	const TSharedRef<FExchange, ESPMode::ThreadSafe> Exchange = MakeShared<FExchange, ESPMode::ThreadSafe>();
	Http->OnProcessRequestComplete().BindLambda(
		[Exchange](FHttpRequestPtr, FHttpResponsePtr Answer, bool bConnected)
		{
			Exchange->bConnected = bConnected && Answer.IsValid();
			if (Exchange->bConnected)
			{
				Exchange->Code = Answer->GetResponseCode();
				Exchange->Headers = Answer->GetAllHeaders();
				Exchange->Body = Answer->GetContent();
			}
			Exchange->Done->Trigger();
		});
	if (!Http->ProcessRequest())
	{
		return muster::Status(muster::StatusCode::kInvalidArgument, "the engine refused the request to " + Request.url);
	}
	// The engine enforces the timeout; the wait allows it a second more.
	if (!Exchange->Done->Wait(FTimespan::FromSeconds(TimeoutSeconds + 1.0f)))
	{
		Http->CancelRequest();
		return muster::Status(muster::StatusCode::kTimeout, "no answer from " + Request.url);
	}
	if (!Exchange->bConnected)
	{
		return muster::Status(muster::StatusCode::kIo, "could not reach " + Request.url);
	}

	Response->status = Exchange->Code;
	Response->headers.clear();
	for (const FString& Line : Exchange->Headers)
	{
		FString Name, Value;
		if (Line.Split(TEXT(":"), &Name, &Value))
		{
			Response->headers.emplace_back(MusterToStd(Name.TrimStartAndEnd()), MusterToStd(Value.TrimStartAndEnd()));
		}
	}
	Response->body.assign(reinterpret_cast<const char*>(Exchange->Body.GetData()), Exchange->Body.Num());
	return muster::Status::Ok();
}
