package remoting

import (
	"encoding/binary"
	"maps"
	"strconv"
	"testing"
)

// answerFrame is a send's answer as a broker writes it, its length word
// taken off.
func answerFrame(opaque int, ext string) []byte {
	header := `{"code":0,"extFields":{` + ext + `},"flag":1,"language":"JAVA","opaque":` + strconv.Itoa(opaque) + `,"serializeTypeCurrentRPC":"JSON","version":453}`
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(header)))
	return append(frame, header...)
}

const sendAnswerExt = `"msgId":"7F00000100002A9F0000000000000ABC","queueId":"3","queueOffset":"1234","transactionId":"7F0000010001B4AAC6DC5A1B3C4D0000","MSG_REGION":"DefaultRegion","TRACE_ON":"true"`

// TestDecodeFrameInto: a command read into again holds what the new frame
// says and nothing of the one before: the ext fields the new one lacks
// are gone, as are the members.
func TestDecodeFrameInto(t *testing.T) {
	var cmd Command
	if err := decodeFrameInto(answerFrame(7, sendAnswerExt), &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Opaque != 7 || cmd.Flag != 1 || cmd.Code != 0 || cmd.ExtFields["queueOffset"] != "1234" || len(cmd.ExtFields) != 6 {
		t.Fatalf("first answer decodes as %+v", cmd)
	}
	second := []byte(`{"code":17,"flag":1,"opaque":8,"remark":"topic not exist"}`)
	frame := append(binary.BigEndian.AppendUint32(nil, uint32(len(second))), second...)
	if err := decodeFrameInto(frame, &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Opaque != 8 || cmd.Code != 17 || cmd.Remark != "topic not exist" || cmd.Language != "" || cmd.Version != 0 || len(cmd.ExtFields) != 0 {
		t.Errorf("second answer decodes as %+v", cmd)
	}
	if err := decodeFrameInto(answerFrame(9, `"queueOffset":"5"`), &cmd); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"queueOffset": "5"}; cmd.Opaque != 9 || cmd.Remark != "" || !maps.Equal(cmd.ExtFields, want) {
		t.Errorf("third answer decodes as %+v", cmd)
	}
	fresh, err := decodeFrame(answerFrame(9, `"queueOffset":"5"`))
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Opaque != cmd.Opaque || !maps.Equal(fresh.ExtFields, cmd.ExtFields) || fresh.Language != cmd.Language {
		t.Errorf("decodeFrame reads %+v; decodeFrameInto %+v", fresh, cmd)
	}
}

// BenchmarkDecodeAnswer: reading a send's answer into a new command, and
// into the pipe's one.
func BenchmarkDecodeAnswer(b *testing.B) {
	frame := answerFrame(123456, sendAnswerExt)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := decodeFrame(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("into", func(b *testing.B) {
		b.ReportAllocs()
		var cmd Command
		for range b.N {
			if err := decodeFrameInto(frame, &cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
}
