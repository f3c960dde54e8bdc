#include "UnrealSocketTransport.h"

#include "IPAddress.h"
#include "SocketSubsystem.h"
#include "Sockets.h"

namespace
{
ISocketSubsystem* Subsystem() { return ISocketSubsystem::Get(PLATFORM_SOCKETSUBSYSTEM); }

muster::Status Fail(muster::StatusCode Code, const FString& What)
{
	return muster::Status(Code, MusterToStd(What));
}

// "host:port" or "[v6]:port" into its parts.
bool SplitAddress(const FString& Address, FString& Host, FString& Port)
{
	int32 Colon = INDEX_NONE;
	if (!Address.FindLastChar(TEXT(':'), Colon) || Colon == 0 || Colon == Address.Len() - 1)
	{
		return false;
	}
	Host = Address.Left(Colon);
	Port = Address.Mid(Colon + 1);
	if (Host.StartsWith(TEXT("[")) && Host.EndsWith(TEXT("]")))
	{
		Host = Host.Mid(1, Host.Len() - 2);
	}
	return Port.IsNumeric();
}
}

muster::Status FUnrealSocketTransport::Connect(const FString& Address, FTimespan Timeout, std::unique_ptr<FUnrealSocketTransport>* Out)
{
	FString Host, Port;
	if (!SplitAddress(Address, Host, Port))
	{
		return Fail(muster::StatusCode::kInvalidArgument, FString::Printf(TEXT("bad realtime address \"%s\": want host:port"), *Address));
	}
	ISocketSubsystem* Sockets = Subsystem();
	// Name resolution blocks: this runs on a worker thread.
	const FAddressInfoResult Found = Sockets->GetAddressInfo(*Host, *Port, EAddressInfoFlags::Default, NAME_None, ESocketType::SOCKTYPE_Streaming);
	if (Found.ReturnCode != SE_NO_ERROR || Found.Results.Num() == 0)
	{
		return Fail(muster::StatusCode::kIo, FString::Printf(TEXT("cannot resolve %s"), *Host));
	}
	const TSharedRef<FInternetAddr> Addr = Found.Results[0].Address;

	FSocket* Socket = Sockets->CreateSocket(NAME_Stream, TEXT("Muster realtime"), Addr->GetProtocolType());
	if (Socket == nullptr)
	{
		return Fail(muster::StatusCode::kIo, TEXT("cannot create a socket"));
	}
	std::unique_ptr<FUnrealSocketTransport> Transport(new FUnrealSocketTransport(Socket));

	// Connect without blocking, wait at most Timeout for it, then go back
	// to a blocking socket: writes then hand over whole frames, and reads
	// only happen once Wait() said bytes are there.
	Socket->SetNoDelay(true);
	Socket->SetNonBlocking(true);
	Socket->Connect(*Addr);
	if (!Socket->Wait(ESocketWaitConditions::WaitForWrite, Timeout) ||
		Socket->GetConnectionState() != ESocketConnectionState::SCS_Connected)
	{
		return Fail(muster::StatusCode::kIo, FString::Printf(TEXT("cannot connect to %s"), *Address));
	}
	Socket->SetNonBlocking(false);
	*Out = std::move(Transport);
	return muster::Status::Ok();
}

FUnrealSocketTransport::~FUnrealSocketTransport()
{
	close();
}

muster::Status FUnrealSocketTransport::write(const char* Data, size_t Size)
{
	if (Socket == nullptr)
	{
		return muster::Status(muster::StatusCode::kClosed, "the socket is closed");
	}
	size_t Done = 0;
	while (Done < Size)
	{
		int32 Sent = 0;
		const int32 Want = static_cast<int32>(FMath::Min<size_t>(Size - Done, 1 << 20));
		if (!Socket->Send(reinterpret_cast<const uint8*>(Data + Done), Want, Sent) || Sent <= 0)
		{
			return muster::Status(muster::StatusCode::kIo, "send failed");
		}
		Done += static_cast<size_t>(Sent);
	}
	return muster::Status::Ok();
}

muster::Status FUnrealSocketTransport::read(char* Buffer, size_t Capacity, std::chrono::milliseconds Timeout, size_t* Read)
{
	*Read = 0;
	if (Socket == nullptr)
	{
		return muster::Status(muster::StatusCode::kClosed, "the socket is closed");
	}
	if (!Socket->Wait(ESocketWaitConditions::WaitForRead, FTimespan::FromMilliseconds(static_cast<double>(Timeout.count()))))
	{
		return muster::Status::Ok();  // nothing arrived in time
	}
	int32 Got = 0;
	const int32 Want = static_cast<int32>(FMath::Min<size_t>(Capacity, 1 << 20));
	// Readable and nothing to read is the peer's close; FSocket::Recv says
	// false for that and for an error alike.
	if (!Socket->Recv(reinterpret_cast<uint8*>(Buffer), Want, Got) || Got <= 0)
	{
		return muster::Status(muster::StatusCode::kClosed, "the server closed the connection");
	}
	*Read = static_cast<size_t>(Got);
	return muster::Status::Ok();
}

void FUnrealSocketTransport::close()
{
	if (Socket != nullptr)
	{
		Socket->Close();
		Subsystem()->DestroySocket(Socket);
		Socket = nullptr;
	}
}
