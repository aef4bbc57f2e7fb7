package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/mqttrmq/mqttrmq/internal/gatewaytest"
	"github.com/mqttrmq/mqttrmq/rocketmqtest"
)

// childArgsEnv holds the command line, separated by newlines, of a test binary
// started to be the command itself.
const childArgsEnv = "MQTTRMQ_TEST_GATEWAY_ARGS"

// runAsCommand runs main with args and exits as the command would.
func runAsCommand(args string) {
	os.Args = append([]string{"gateway"}, strings.Split(args, "\n")...)
	main()
	os.Exit(0)
}

// TestSIGTERMDrains runs the command in a process of its own and sends it
// SIGTERM while an MQTT 5 and an MQTT 3.1.1 device are connected: /readyz
// turns 503 at once, the MQTT 5 device is told to use the other server
// (0x9C with the reference), the MQTT 3.1.1 device is closed within the
// grace period, what the devices published is in RocketMQ, and the
// process exits 0.
func TestSIGTERMDrains(t *testing.T) {
	srv := rocketmqtest.NewServer(t)
	if err := srv.CreateTopic("vehicles", 4); err != nil {
		t.Fatal(err)
	}
	args := []string{"-namesrv", srv.Addr(), "-topics", "vehicles", "-auth", "allow-all",
		"-listen", "127.0.0.1:0", "-metrics", "127.0.0.1:0", "-instance-id", fmt.Sprintf("sigterm-%d", time.Now().UnixNano()),
		"-drain-grace", "1s", "-server-reference", "mqtt-2.example.com:1883"}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\n"))
	var out gatewaytest.Output
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()
	addr := out.WaitFor(t, regexp.MustCompile(`msg=serving mqtt=(\S+)`))
	metrics := out.WaitFor(t, regexp.MustCompile(`metrics=http://(\S+)/metrics`))
	group := out.WaitFor(t, regexp.MustCompile(`group=(\S+)`))
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := srv.WaitForConsumers(ctx, group, 1); err != nil {
		t.Fatal(err)
	}
	if code := get(t, "http://"+metrics+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d before SIGTERM; want 200", code)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	disc := make(chan *paho5.Disconnect, 1)
	v5 := paho5.NewClient(paho5.ClientConfig{Conn: conn, OnServerDisconnect: func(d *paho5.Disconnect) { disc <- d }})
	if _, err := v5.Connect(ctx, &paho5.Connect{ClientID: "GID_car@@@v5", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	defer func() { <-v5.Done() }()
	if _, err := v5.Publish(ctx, &paho5.Publish{Topic: "vehicles/v5", QoS: 1, Payload: []byte("from v5")}); err != nil {
		t.Fatal(err)
	}
	lost := make(chan struct{})
	v3 := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("GID_car@@@v3").
		SetProtocolVersion(4).SetAutoReconnect(false).
		SetConnectionLostHandler(func(paho.Client, error) { close(lost) }))
	if tok := v3.Connect(); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer v3.Disconnect(0)
	if tok := v3.Publish("vehicles/v3", 1, false, "from v3"); !tok.WaitTimeout(deadline) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if err := srv.WaitForCaughtUp(ctx, group); err != nil { // see rocketmqtest.ConsumerGuard
		t.Fatal(err)
	}

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-disc:
		if d.ReasonCode != 0x9C || d.Properties == nil || d.Properties.ServerReference != "mqtt-2.example.com:1883" {
			t.Errorf("the MQTT 5 device got DISCONNECT %#x %+v; want 0x9C with the server reference", d.ReasonCode, d.Properties)
		}
	case <-time.After(deadline):
		t.Fatal("the MQTT 5 device was not told to go")
	}
	if code := get(t, "http://"+metrics+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while draining; want 503", code)
	}
	select {
	case <-lost:
		if took := time.Since(sent); took < 500*time.Millisecond {
			t.Errorf("the MQTT 3.1.1 device was closed %v after SIGTERM; want its grace of 1s (one device: closed at its end)", took)
		}
	case <-time.After(deadline):
		t.Fatal("the MQTT 3.1.1 device was never closed")
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("the command exited with %v after SIGTERM; want 0\n%s", exitErr, out.String())
		}
	case <-time.After(deadline):
		t.Fatalf("the command did not exit after SIGTERM:\n%s", out.String())
	}
	for _, want := range []string{"msg=draining", "msg=drained", "error=<nil>", `msg="gateway stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the command's log lacks %q:\n%s", want, out.String())
		}
	}
	if got := len(srv.Messages("vehicles")); got != 2 {
		t.Errorf("RocketMQ holds %d messages; want the devices' 2", got)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
