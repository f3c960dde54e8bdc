// What the Muster subsystem hands to Blueprints and game code.
#pragma once

#include "CoreMinimal.h"

#include "MusterTypes.generated.h"

// Why a call failed: the API's stable code ("insufficient_funds",
// "not_friends", "RATE_LIMITED" from the socket) to switch on, and a
// message for logs.
USTRUCT(BlueprintType)
struct MUSTER_API FMusterError
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Code;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Message;
};

USTRUCT(BlueprintType)
struct MUSTER_API FMusterPartyMember
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString PlayerId;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString DisplayName;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	bool bReady = false;
};

USTRUCT(BlueprintType)
struct MUSTER_API FMusterParty
{
	GENERATED_BODY()

	// Empty: the player is in no party.
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString PartyId;

	// Grows with every change; an older state than the one shown is stale.
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	int64 Version = 0;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString LeaderId;

	// In join order.
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	TArray<FMusterPartyMember> Members;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	int32 MaxSize = 0;

	// Set while anyone with it may join.
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString InviteCode;
};

// A notification pushed over the realtime connection (docs/notifications.md).
USTRUCT(BlueprintType)
struct MUSTER_API FMusterNotification
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	int64 Seq = 0;

	// "party.invite", "match.found", "progression.level_up", ...
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Kind;

	// A JSON object, by kind.
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString PayloadJson;
};

// The player's matchmaking ticket.
USTRUCT(BlueprintType)
struct MUSTER_API FMusterQueueStatus
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString TicketId;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Queue;

	// "none", "waiting", "matched" or "cancelled".
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString State;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	TArray<FString> Players;

	// Cancelled: why ("cancelled", "party_changed", ...).
	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Reason;
};

// Where the player's match is: the match.found notification.
USTRUCT(BlueprintType)
struct MUSTER_API FMusterMatch
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString MatchId;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	FString Address;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	int32 Port = 0;

	UPROPERTY(BlueprintReadOnly, Category = "Muster")
	int32 Team = 0;
};
