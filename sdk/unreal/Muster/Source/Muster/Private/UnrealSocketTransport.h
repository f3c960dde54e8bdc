// muster::Transport over an engine TCP socket (FSocket): the byte stream a
// muster::Connection speaks the realtime protocol over.
//
// Connect() blocks for at most its timeout (run it on a worker thread);
// after that the transport belongs to whichever thread drives the
// Connection, which in this plugin is the game thread: read() with a zero
// timeout only looks, and write() hands a frame of a few hundred bytes to
// the socket's buffer.
#pragma once

#include <memory>

#include "MusterSdk.h"

class FSocket;

class FUnrealSocketTransport final : public muster::Transport
{
public:
	// Address is "host:port" or "[v6]:port"; the host may be a name.
	static muster::Status Connect(const FString& Address, FTimespan Timeout, std::unique_ptr<FUnrealSocketTransport>* Out);

	~FUnrealSocketTransport() override;

	muster::Status write(const char* Data, size_t Size) override;
	muster::Status read(char* Buffer, size_t Capacity, std::chrono::milliseconds Timeout, size_t* Read) override;
	void close() override;

private:
	explicit FUnrealSocketTransport(FSocket* InSocket) : Socket(InSocket) {}

	FSocket* Socket = nullptr;
};
