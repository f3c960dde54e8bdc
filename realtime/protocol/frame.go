// Package protocol is Muster's realtime wire format, version 1: length-
// prefixed frames, each with a message type and a request id, whose bodies
// are Protocol Buffers messages (pb/muster.proto). docs/protocol.md is the
// specification; this package is its Go implementation, shared by the
// gateway, the Go SDK and the tests.
//
// A frame on the wire:
//
//	uint32 length      big-endian: the bytes that follow (6 + body), at most the negotiated max frame
//	uint16 type        big-endian: which message the body holds (Type)
//	uint32 request_id  big-endian: pairs a response with its request; 0 for pushes
//	[]byte body        the message, Protocol Buffers encoded (may be empty)
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version this package speaks.
const Version = 1

// Sizes of the frame layout.
const (
	lengthSize = 4
	headerSize = 2 + 4 // type and request id, counted in length
	// DefaultMaxFrame is the largest frame (length field included) either
	// side sends unless Welcome says otherwise.
	DefaultMaxFrame = 64 << 10
	// MinMaxFrame is the smallest max frame a server may announce.
	MinMaxFrame = 1 << 10
)

// Type says which message a frame's body holds.
type Type uint16

// Message types of version 1. Numbers never change meaning.
const (
	TypeHello          Type = 1
	TypeWelcome        Type = 2
	TypeError          Type = 3
	TypePing           Type = 4
	TypePong           Type = 5
	TypeRefreshToken   Type = 6
	TypeTokenRefreshed Type = 7
	TypeNotification   Type = 8
	TypeAck            Type = 9
	TypeReconnect      Type = 10
	TypeGoodbye        Type = 11
	TypeOk             Type = 12

	TypeSetStatus       Type = 20
	TypePresenceChanged Type = 21

	TypeListFriends  Type = 30
	TypeFriendList   Type = 31
	TypeFriendAction Type = 32

	TypePartyCreate      Type = 40
	TypePartyState       Type = 41
	TypePartyInvite      Type = 42
	TypePartyJoin        Type = 43
	TypePartyLeave       Type = 44
	TypePartyKick        Type = 45
	TypePartyPromote     Type = 46
	TypePartySettings    Type = 47
	TypePartyReadyCheck  Type = 48
	TypePartyReady       Type = 49
	TypePartyChat        Type = 50
	TypePartyLeft        Type = 51
	TypePartyChatMessage Type = 52
	TypeGetParty         Type = 53

	TypeQueueJoin      Type = 60
	TypeQueueStatus    Type = 61
	TypeQueueCancel    Type = 62
	TypeGetQueueStatus Type = 63
)

// Frame is one decoded frame. Body aliases the reader's buffer until the
// next read.
type Frame struct {
	Type      Type
	RequestID uint32
	Body      []byte
}

// Errors of reading frames. A connection that produced one cannot be read
// further: the gateway answers with an Error frame and closes.
var (
	ErrFrameTooLarge = errors.New("frame larger than the max frame")
	ErrFrameTooShort = errors.New("frame shorter than its header")
)

// Reader reads frames from a stream with one reusable buffer.
type Reader struct {
	r   io.Reader
	max int
	buf []byte
}

// NewReader reads frames of at most max bytes (length field included).
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: r, max: max}
}

// SetMax changes the largest frame accepted (after the handshake).
func (fr *Reader) SetMax(max int) { fr.max = max }

// Read returns the next frame. Its Body is valid until the next Read. A
// length that exceeds the max frame is ErrFrameTooLarge before its body is
// read; io.EOF means the stream ended cleanly between frames, and
// io.ErrUnexpectedEOF that it ended inside one.
func (fr *Reader) Read() (Frame, error) {
	var lenBuf [lengthSize]byte
	if _, err := io.ReadFull(fr.r, lenBuf[:]); err != nil {
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(lenBuf[:])
	switch {
	case uint64(n)+lengthSize > uint64(fr.max):
		return Frame{}, fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, uint64(n)+lengthSize, fr.max)
	case n < headerSize:
		return Frame{}, fmt.Errorf("%w: length %d", ErrFrameTooShort, n)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	// An idle connection keeps no large buffer: release one a big frame grew.
	if cap(fr.buf) > 4<<10 {
		defer func() { fr.buf = nil }()
	}
	return Frame{Type: Type(binary.BigEndian.Uint16(b)), RequestID: binary.BigEndian.Uint32(b[2:]), Body: b[headerSize:]}, nil
}

// AppendFrame appends f's wire form to dst.
func AppendFrame(dst []byte, f Frame) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(headerSize+len(f.Body)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(f.Type))
	dst = binary.BigEndian.AppendUint32(dst, f.RequestID)
	return append(dst, f.Body...)
}
