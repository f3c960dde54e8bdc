#include "MusterSubsystem.h"

#include "Async/Async.h"
#include "CoreGlobals.h"
#include "HAL/PlatformTime.h"
#include "MusterSdk.h"
#include "UnrealHttpClient.h"
#include "UnrealSocketTransport.h"

DEFINE_LOG_CATEGORY_STATIC(LogMuster, Log, All);

// The REST side: the engine's HTTP and the SDK's client over it. Only the
// REST worker touches it, one job at a time.
struct FMusterRest
{
	FUnrealHttpClient Http;
	muster::RestClient Client;

	explicit FMusterRest(const FString& Url) : Client(Http, MusterToStd(Url)) {}
};

// The realtime side: the SDK's connection over an engine socket.
struct FMusterRealtime
{
	std::unique_ptr<muster::Connection> Connection;
};

namespace
{
constexpr std::chrono::seconds kRequestTimeout{10};
// A live connection gets a new access token this long before its own expires.
constexpr double kRefreshMargin = 120.0;

FMusterError ToError(const muster::Status& S)
{
	FMusterError E;
	if (S.code() == muster::StatusCode::kHttp && !S.api_code().empty())
	{
		E.Code = MusterToFString(S.api_code());
	}
	else if (S.code() == muster::StatusCode::kServer)
	{
		E.Code = UTF8_TO_TCHAR(muster::error_code_name(S.server_code()));
	}
	else
	{
		// Failures on this side, or a refusal without the API's shape.
		switch (S.code())
		{
			case muster::StatusCode::kOk: break;
			case muster::StatusCode::kTimeout: E.Code = TEXT("timeout"); break;
			case muster::StatusCode::kIo: E.Code = TEXT("network"); break;
			case muster::StatusCode::kClosed: E.Code = TEXT("closed"); break;
			case muster::StatusCode::kState: E.Code = TEXT("not_ready"); break;  // not logged in, or no Hello yet
			case muster::StatusCode::kHttp: E.Code = FString::Printf(TEXT("http_%d"), S.http_status()); break;
			default: E.Code = TEXT("protocol"); break;
		}
	}
	E.Message = MusterToFString(S.to_string());
	return E;
}

FMusterParty ToParty(const muster::pb::PartyState& P)
{
	FMusterParty Out;
	Out.PartyId = MusterToFString(P.party_id());
	Out.Version = static_cast<int64>(P.version());
	Out.LeaderId = MusterToFString(P.leader_id());
	Out.MaxSize = static_cast<int32>(P.max_size());
	Out.InviteCode = MusterToFString(P.invite_code());
	for (const muster::pb::PartyMember& M : P.members())
	{
		FMusterPartyMember& Member = Out.Members.AddDefaulted_GetRef();
		Member.PlayerId = MusterToFString(M.player_id());
		Member.DisplayName = MusterToFString(M.display_name());
		Member.bReady = M.ready();
	}
	return Out;
}

FMusterQueueStatus ToQueue(const muster::pb::QueueStatus& Q)
{
	FMusterQueueStatus Out;
	Out.TicketId = MusterToFString(Q.ticket_id());
	Out.Queue = MusterToFString(Q.queue());
	switch (Q.state())
	{
		case muster::pb::QUEUE_STATE_WAITING: Out.State = TEXT("waiting"); break;
		case muster::pb::QUEUE_STATE_MATCHED: Out.State = TEXT("matched"); break;
		case muster::pb::QUEUE_STATE_CANCELLED: Out.State = TEXT("cancelled"); break;
		default: Out.State = TEXT("none"); break;
	}
	for (const std::string& Player : Q.players())
	{
		Out.Players.Add(MusterToFString(Player));
	}
	Out.Reason = MusterToFString(Q.reason());
	return Out;
}
}

void UMusterSubsystem::Initialize(FSubsystemCollectionBase& Collection)
{
	Super::Initialize(Collection);
	WeakThis = this;
	Rest = MakeShared<FMusterRest, ESPMode::ThreadSafe>(RestUrl);
	// Tokens change on the worker (logins, refreshes); the game hears of
	// them on the game thread.
	Rest->Client.on_tokens([this](const muster::rest::Tokens& Tokens)
		{
			const FString Refresh = MusterToFString(Tokens.refresh_token);
			const double ExpiresIn = static_cast<double>(Tokens.expires_in);
			OnGameThread([Refresh, ExpiresIn](UMusterSubsystem& S)
				{
					S.AccessExpiresAt = Refresh.IsEmpty() ? 0 : FPlatformTime::Seconds() + ExpiresIn;
					S.OnRefreshTokenChanged.Broadcast(Refresh);
				});
		});
	TickHandle = FTSTicker::GetCoreTicker().AddTicker(FTickerDelegate::CreateUObject(this, &UMusterSubsystem::Tick), 0.0f);
}

void UMusterSubsystem::Deinitialize()
{
	bDeinitialized = true;
	FTSTicker::RemoveTicker(TickHandle);
	if (Realtime.IsValid())
	{
		Realtime->Connection->goodbye("client closing");
		Realtime.Reset();
	}
	// Jobs in flight end within their HTTP or connect timeout; what they
	// post to the game thread afterwards is dropped.
	RestPipe.WaitUntilEmpty();
	Super::Deinitialize();
}

void UMusterSubsystem::RunRest(TUniqueFunction<void(FMusterRest&)> Job)
{
	RestPipe.Launch(TEXT("Muster REST"), [Shared = Rest, Job = MoveTemp(Job)]() mutable { Job(*Shared); });
}

void UMusterSubsystem::OnGameThread(TUniqueFunction<void(UMusterSubsystem&)> Fn)
{
	AsyncTask(ENamedThreads::GameThread, [Weak = WeakThis, Fn = MoveTemp(Fn)]() mutable
		{
			UMusterSubsystem* Subsystem = Weak.Get();
			if (Subsystem != nullptr && !Subsystem->bDeinitialized)
			{
				Fn(*Subsystem);
			}
		});
}

// ------------------------------------------------------------- sessions

void UMusterSubsystem::Login(TUniqueFunction<muster::Status(FMusterRest&, FString&)> Call)
{
	RunRest([this, Call = MoveTemp(Call)](FMusterRest& R) mutable
		{
			FString Id;
			const muster::Status S = Call(R, Id);
			const bool bOk = S.ok();
			const FMusterError Error = ToError(S);
			OnGameThread([bOk, Id, Error](UMusterSubsystem& Subsystem)
				{
					if (bOk)
					{
						Subsystem.PlayerId = Id;
					}
					Subsystem.OnLoggedIn.Broadcast(bOk, bOk ? Id : FString(), Error);
				});
		});
}

void UMusterSubsystem::LoginWithEmail(const FString& Email, const FString& Password)
{
	Login([E = MusterToStd(Email), P = MusterToStd(Password)](FMusterRest& R, FString& Id)
		{
			muster::rest::Login L;
			const muster::Status S = R.Client.login_email(E, P, &L);
			Id = MusterToFString(L.player.id);
			return S;
		});
}

void UMusterSubsystem::LoginWithSteam(const FString& TicketHex)
{
	Login([T = MusterToStd(TicketHex)](FMusterRest& R, FString& Id)
		{
			muster::rest::Login L;
			const muster::Status S = R.Client.login_steam(T, &L);
			Id = MusterToFString(L.player.id);
			return S;
		});
}

void UMusterSubsystem::ResumeSession(const FString& RefreshToken)
{
	Login([T = MusterToStd(RefreshToken)](FMusterRest& R, FString& Id)
		{
			muster::rest::Tokens Saved;
			Saved.refresh_token = T;
			R.Client.set_tokens(Saved);
			muster::Status S = R.Client.refresh();
			if (!S.ok())
			{
				return S;
			}
			muster::rest::Player Me;
			S = R.Client.me(&Me);
			Id = MusterToFString(Me.id);
			return S;
		});
}

void UMusterSubsystem::Logout()
{
	Disconnect();
	PlayerId.Empty();
	RunRest([](FMusterRest& R)
		{
			if (const muster::Status S = R.Client.logout(); !S.ok())
			{
				UE_LOG(LogMuster, Warning, TEXT("logout: %s"), *MusterToFString(S.to_string()));
			}
		});
}

// --------------------------------------------------- realtime connection

void UMusterSubsystem::Connect()
{
	if (bConnecting || IsConnected())
	{
		return;
	}
	bConnecting = true;
	muster::HelloParams Hello;
	Hello.resume_token = MusterToStd(ResumeToken);
	Hello.last_seq = LastSeq;
	RunRest([this, Address = RealtimeAddress, Hello](FMusterRest& R) mutable
		{
			// The handshake wants an access token with some life left.
			muster::Status S = R.Client.refresh_if_expiring(std::chrono::seconds(60));
			TSharedPtr<FMusterRealtime> Conn;
			if (S.ok())
			{
				Hello.access_token = R.Client.tokens().access_token;
				std::unique_ptr<FUnrealSocketTransport> Transport;
				S = FUnrealSocketTransport::Connect(Address, FTimespan::FromSeconds(10), &Transport);
				if (S.ok())
				{
					muster::ConnectionOptions Options;
					Options.client = "muster-unreal/0.1";
					Conn = MakeShared<FMusterRealtime>();
					Conn->Connection = std::make_unique<muster::Connection>(std::move(Transport), Options);
					// Handlers go on before Hello: a resumed session's missed
					// notifications follow Welcome at once. Until the game
					// thread adopts the connection they run here, on the
					// worker, and post what they received.
					muster::Connection& C = *Conn->Connection;
					C.on<muster::pb::Notification>([this](const muster::pb::Notification& N)
						{
							FMusterNotification Note;
							Note.Seq = static_cast<int64>(N.seq());
							Note.Kind = MusterToFString(N.kind());
							Note.PayloadJson = MusterToFString(N.payload_json());
							OnGameThread([Note](UMusterSubsystem& Subsystem)
								{
									Subsystem.OnNotification.Broadcast(Note);
									if (Note.Kind == TEXT("match.found"))
									{
										muster::Json P;
										if (muster::Json::parse(MusterToStd(Note.PayloadJson), &P))
										{
											FMusterMatch Match;
											Match.MatchId = MusterToFString(P["match_id"].as_string());
											Match.Address = MusterToFString(P["address"].as_string());
											Match.Port = static_cast<int32>(P["port"].as_int());
											Match.Team = static_cast<int32>(P["team"].as_int());
											Subsystem.OnMatchFound.Broadcast(Match);
										}
									}
									Subsystem.LastSeq = FMath::Max(Subsystem.LastSeq, static_cast<uint64>(Note.Seq));
									if (Subsystem.bAutoAckNotifications && Subsystem.IsConnected())
									{
										Subsystem.Realtime->Connection->ack(Subsystem.LastSeq);
									}
								});
						});
					C.on<muster::pb::PartyState>([this](const muster::pb::PartyState& P)
						{
							OnGameThread([Party = ToParty(P)](UMusterSubsystem& Subsystem) { Subsystem.OnPartyChanged.Broadcast(Party); });
						});
					C.on<muster::pb::PartyLeft>([this](const muster::pb::PartyLeft& P)
						{
							OnGameThread([Id = MusterToFString(P.party_id()), Reason = MusterToFString(P.reason())](UMusterSubsystem& Subsystem)
								{ Subsystem.OnPartyLeft.Broadcast(Id, Reason); });
						});
					C.on<muster::pb::QueueStatus>([this](const muster::pb::QueueStatus& Q)
						{
							OnGameThread([Status = ToQueue(Q)](UMusterSubsystem& Subsystem) { Subsystem.OnQueueChanged.Broadcast(Status); });
						});
					C.on<muster::pb::Reconnect>([](const muster::pb::Reconnect& Hint)
						{
							// The node is draining: it closes soon, and the
							// drop is reported then; Connect() resumes.
							UE_LOG(LogMuster, Log, TEXT("the server asks to reconnect in %u ms"), Hint.delay_ms());
						});
					S = C.hello(Hello, kRequestTimeout);
				}
			}
			const bool bOk = S.ok();
			const FMusterError Error = ToError(S);
			OnGameThread([bOk, Error, Conn = MoveTemp(Conn)](UMusterSubsystem& Subsystem) mutable
				{
					Subsystem.bConnecting = false;
					if (bOk)
					{
						Subsystem.Adopt(MoveTemp(Conn));
					}
					Subsystem.OnConnected.Broadcast(bOk, Error);
				});
		});
}

void UMusterSubsystem::Adopt(TSharedPtr<FMusterRealtime> Connection)
{
	Realtime = MoveTemp(Connection);
	const muster::Connection& C = *Realtime->Connection;
	ResumeToken = MusterToFString(C.welcome().resume_token());
	if (C.resume_failed())
	{
		// A new session: what was missed is in GET /v1/me/notifications.
		LastSeq = 0;
	}
	if (bAutoAckNotifications && LastSeq > 0)
	{
		Realtime->Connection->ack(LastSeq);
	}
}

void UMusterSubsystem::Disconnect()
{
	if (Realtime.IsValid())
	{
		Realtime->Connection->goodbye("client disconnect");
		Realtime.Reset();
	}
	ResumeToken.Empty();  // a clean end: the next Connect starts afresh
	LastSeq = 0;
}

bool UMusterSubsystem::IsConnected() const
{
	return Realtime.IsValid() && Realtime->Connection->is_open();
}

void UMusterSubsystem::Dropped(const muster::Status& Why)
{
	Realtime.Reset();
	bRefreshingToken = false;
	UE_LOG(LogMuster, Warning, TEXT("realtime connection lost: %s"), *MusterToFString(Why.to_string()));
	OnDisconnected.Broadcast(ToError(Why));
}

bool UMusterSubsystem::Tick(float DeltaSeconds)
{
	if (!Realtime.IsValid())
	{
		return true;
	}
	// Reads what arrived (handlers fire here), sends a heartbeat when due.
	// An event handler may Disconnect() meanwhile: Live keeps the
	// connection alive until poll() returns, and a connection the game
	// closed is not reported as dropped.
	const TSharedPtr<FMusterRealtime> Live = Realtime;
	const muster::Status S = Live->Connection->poll(std::chrono::milliseconds(0));
	if (Realtime != Live)
	{
		return true;
	}
	if (!S.ok())
	{
		Dropped(S);
		return true;
	}
	const double Now = FPlatformTime::Seconds();
	if (!bRefreshingToken && AccessExpiresAt > 0 && Now > AccessExpiresAt - kRefreshMargin && Now > RefreshNotBefore)
	{
		RefreshRealtimeToken();
	}
	return true;
}

void UMusterSubsystem::RefreshRealtimeToken()
{
	bRefreshingToken = true;
	RunRest([this](FMusterRest& R)
		{
			const muster::Status S = R.Client.refresh_if_expiring(std::chrono::seconds(static_cast<int64>(kRefreshMargin)));
			const std::string Token = R.Client.tokens().access_token;
			const FMusterError Error = ToError(S);
			const bool bOk = S.ok();
			OnGameThread([bOk, Token, Error](UMusterSubsystem& Subsystem)
				{
					if (!bOk)
					{
						// A refused refresh ended the session (on_tokens said
						// so); a failed one is tried again in a while.
						Subsystem.bRefreshingToken = false;
						Subsystem.RefreshNotBefore = FPlatformTime::Seconds() + 10.0;
						Subsystem.OnRequestFailed.Broadcast(TEXT("RefreshToken"), Error);
						return;
					}
					if (!Subsystem.IsConnected())
					{
						Subsystem.bRefreshingToken = false;
						return;
					}
					muster::pb::RefreshToken Refresh;
					Refresh.set_access_token(Token);
					const muster::Status Sent = Subsystem.Realtime->Connection->send_request(Refresh,
						[Weak = Subsystem.WeakThis](const muster::Status& Answer, muster::Message)
						{
							if (UMusterSubsystem* Owner = Weak.Get())
							{
								Owner->bRefreshingToken = false;
								if (!Answer.ok())
								{
									Owner->RefreshNotBefore = FPlatformTime::Seconds() + 10.0;
									Owner->OnRequestFailed.Broadcast(TEXT("RefreshToken"), ToError(Answer));
								}
							}
						});
					if (!Sent.ok())
					{
						Subsystem.bRefreshingToken = false;
					}
				});
		});
}

void UMusterSubsystem::AckNotification(int64 Seq)
{
	if (IsConnected() && Seq > 0)
	{
		Realtime->Connection->ack(static_cast<uint64>(Seq));
	}
}

// ----------------------------------------- party and matchmaking requests

namespace
{
// Sends a request over the live connection. Its answer (PartyState,
// QueueStatus) goes to the matching event, a refusal to OnRequestFailed.
void SendRequest(UMusterSubsystem& Subsystem, FMusterRealtime* Realtime, const FString& What, const google::protobuf::MessageLite& Message)
{
	if (Realtime == nullptr || !Realtime->Connection->is_open())
	{
		FMusterError E;
		E.Code = TEXT("not_connected");
		E.Message = What + TEXT(": the realtime connection is not open");
		Subsystem.OnRequestFailed.Broadcast(What, E);
		return;
	}
	TWeakObjectPtr<UMusterSubsystem> Weak(&Subsystem);
	const muster::Status S = Realtime->Connection->send_request(Message, [Weak, What](const muster::Status& Answer, muster::Message M)
		{
			UMusterSubsystem* Owner = Weak.Get();
			if (Owner == nullptr)
			{
				return;
			}
			if (!Answer.ok())
			{
				Owner->OnRequestFailed.Broadcast(What, ToError(Answer));
			}
			else if (const muster::pb::PartyState* Party = M.as<muster::pb::PartyState>())
			{
				Owner->OnPartyChanged.Broadcast(ToParty(*Party));
			}
			else if (const muster::pb::QueueStatus* Queue = M.as<muster::pb::QueueStatus>())
			{
				Owner->OnQueueChanged.Broadcast(ToQueue(*Queue));
			}
		});
	if (!S.ok())
	{
		Subsystem.OnRequestFailed.Broadcast(What, ToError(S));
	}
}
}

void UMusterSubsystem::CreateParty(int32 MaxSize)
{
	muster::pb::PartyCreate M;
	M.set_max_size(static_cast<uint32>(FMath::Max(0, MaxSize)));
	SendRequest(*this, Realtime.Get(), TEXT("PartyCreate"), M);
}

void UMusterSubsystem::InviteToParty(const FString& FriendPlayerId)
{
	muster::pb::PartyInvite M;
	M.set_player_id(MusterToStd(FriendPlayerId));
	SendRequest(*this, Realtime.Get(), TEXT("PartyInvite"), M);
}

void UMusterSubsystem::JoinParty(const FString& PartyId)
{
	muster::pb::PartyJoin M;
	M.set_party_id(MusterToStd(PartyId));
	SendRequest(*this, Realtime.Get(), TEXT("PartyJoin"), M);
}

void UMusterSubsystem::LeaveParty()
{
	SendRequest(*this, Realtime.Get(), TEXT("PartyLeave"), muster::pb::PartyLeave());
}

void UMusterSubsystem::JoinMatchmaking(const FString& Queue, const TMap<FString, int32>& LatencyMs)
{
	muster::pb::QueueJoin M;
	M.set_queue(MusterToStd(Queue));
	for (const TPair<FString, int32>& Region : LatencyMs)
	{
		(*M.mutable_latency_ms())[MusterToStd(Region.Key)] = static_cast<uint32>(FMath::Clamp(Region.Value, 1, 2000));
	}
	SendRequest(*this, Realtime.Get(), TEXT("QueueJoin"), M);
}

void UMusterSubsystem::CancelMatchmaking()
{
	SendRequest(*this, Realtime.Get(), TEXT("QueueCancel"), muster::pb::QueueCancel());
}
