// UMusterSubsystem: a game's connection to its Muster backend, one per
// game instance. It logs the player in over REST, keeps the session's
// tokens fresh, holds the realtime connection (notifications, parties,
// matchmaking) and turns what arrives into events.
//
// Threads: every UFUNCTION and every event is on the game thread. REST
// calls run one after another on a worker (the SDK's HTTP calls block);
// the realtime connection is polled from the core ticker, on the game
// thread, so its handlers fire there too.
//
// Settings, in DefaultGame.ini:
//   [/Script/Muster.MusterSubsystem]
//   RestUrl=https://api.mygame.com
//   RealtimeAddress=rt.mygame.com:7350
#pragma once

#include "Containers/Ticker.h"
#include "CoreMinimal.h"
#include "Subsystems/GameInstanceSubsystem.h"
#include "Tasks/Pipe.h"

#include "MusterTypes.h"

#include "MusterSubsystem.generated.h"

namespace muster
{
class Status;
}
struct FMusterRest;
struct FMusterRealtime;

DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FMusterLoggedIn, bool, bOk, const FString&, PlayerId, const FMusterError&, Error);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMusterConnected, bool, bOk, const FMusterError&, Error);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMusterDisconnected, const FMusterError&, Why);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMusterNotified, const FMusterNotification&, Notification);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMusterPartyChanged, const FMusterParty&, Party);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMusterPartyLeft, const FString&, PartyId, const FString&, Reason);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMusterQueueChanged, const FMusterQueueStatus&, Status);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FMusterMatchFound, const FMusterMatch&, Match);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FMusterRequestFailed, const FString&, Request, const FMusterError&, Error);
// The session's refresh token after each login and refresh (empty: the
// session ended). Store it to resume the session at the next start.
DECLARE_MULTICAST_DELEGATE_OneParam(FMusterRefreshTokenChanged, const FString&);

UCLASS(Config = Game)
class MUSTER_API UMusterSubsystem : public UGameInstanceSubsystem
{
	GENERATED_BODY()

public:
	virtual void Initialize(FSubsystemCollectionBase& Collection) override;
	virtual void Deinitialize() override;

	// The player REST API, e.g. "https://api.mygame.com" (no /v1).
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Muster")
	FString RestUrl = TEXT("http://127.0.0.1:8080");

	// The realtime gateway's TCP address, "host:port".
	UPROPERTY(Config, EditAnywhere, BlueprintReadOnly, Category = "Muster")
	FString RealtimeAddress = TEXT("127.0.0.1:7350");

	// Ack each notification once OnNotification has run.
	UPROPERTY(Config, EditAnywhere, BlueprintReadWrite, Category = "Muster")
	bool bAutoAckNotifications = true;

	// ---- sessions
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void LoginWithEmail(const FString& Email, const FString& Password);

	// TicketHex: ISteamUser::GetAuthTicketForWebApi's ticket, hex-encoded.
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void LoginWithSteam(const FString& TicketHex);

	// Resumes a session from the refresh token OnRefreshTokenChanged gave.
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void ResumeSession(const FString& RefreshToken);

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void Logout();

	UFUNCTION(BlueprintPure, Category = "Muster")
	FString GetPlayerId() const { return PlayerId; }

	// ---- the realtime connection
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void Connect();

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void Disconnect();

	UFUNCTION(BlueprintPure, Category = "Muster")
	bool IsConnected() const;

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void AckNotification(int64 Seq);

	// ---- the party (over the socket; changes arrive as OnPartyChanged)
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void CreateParty(int32 MaxSize = 0);

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void InviteToParty(const FString& FriendPlayerId);

	// PartyId: the party.invite notification's party_id.
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void JoinParty(const FString& PartyId);

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void LeaveParty();

	// ---- matchmaking (over the socket; OnQueueChanged, then OnMatchFound)
	// LatencyMs: the round trip the client measured to each region.
	UFUNCTION(BlueprintCallable, Category = "Muster")
	void JoinMatchmaking(const FString& Queue, const TMap<FString, int32>& LatencyMs);

	UFUNCTION(BlueprintCallable, Category = "Muster")
	void CancelMatchmaking();

	// ---- events
	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterLoggedIn OnLoggedIn;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterConnected OnConnected;

	// The connection ended (the server closed it, the network failed, a
	// heartbeat went unanswered). Connect() again: the session resumes and
	// missed notifications follow.
	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterDisconnected OnDisconnected;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterNotified OnNotification;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterPartyChanged OnPartyChanged;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterPartyLeft OnPartyLeft;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterQueueChanged OnQueueChanged;

	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterMatchFound OnMatchFound;

	// A party or matchmaking request the server refused, or that failed.
	UPROPERTY(BlueprintAssignable, Category = "Muster")
	FMusterRequestFailed OnRequestFailed;

	FMusterRefreshTokenChanged OnRefreshTokenChanged;

private:
	// Runs Job on the REST worker, one job at a time, in order.
	void RunRest(TUniqueFunction<void(FMusterRest&)> Job);
	void Login(TUniqueFunction<muster::Status(FMusterRest&, FString&)> Call);
	// Runs Fn on the game thread, if the subsystem still exists then.
	void OnGameThread(TUniqueFunction<void(UMusterSubsystem&)> Fn);

	bool Tick(float DeltaSeconds);
	void Adopt(TSharedPtr<FMusterRealtime> Connection);
	void Dropped(const muster::Status& Why);
	void RefreshRealtimeToken();

	// Shared with the jobs in flight, which may outlive the subsystem.
	TSharedPtr<FMusterRest, ESPMode::ThreadSafe> Rest;
	UE::Tasks::FPipe RestPipe{TEXT("Muster REST")};

	// The realtime connection, used on the game thread only.
	TSharedPtr<FMusterRealtime> Realtime;
	FTSTicker::FDelegateHandle TickHandle;
	bool bConnecting = false;
	bool bRefreshingToken = false;
	bool bDeinitialized = false;
	// Kept across connections, to resume the session after a drop.
	FString ResumeToken;
	uint64 LastSeq = 0;
	FString PlayerId;
	// When the access token expires (FPlatformTime::Seconds), as the REST
	// worker last told; the live connection is handed a new one before.
	double AccessExpiresAt = 0;
	// After a refresh that failed, the next try waits until then.
	double RefreshNotBefore = 0;
	TWeakObjectPtr<UMusterSubsystem> WeakThis;
};
