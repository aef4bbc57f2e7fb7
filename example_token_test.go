package mqttrmq_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mqttrmq/mqttrmq"
)

// An application server signs an application for a token that lets an
// app subscribe to one vehicle's commands for an hour.
func ExampleTokenApplication_Form() {
	now := time.UnixMilli(1700000000000)
	app := mqttrmq.TokenApplication{
		Resources:  []string{"vehicles/cmd/v1"},
		Actions:    mqttrmq.TokenRead,
		ExpireTime: now.Add(time.Hour),
	}
	form, err := app.Form("LTAI5tKey", "s3cret", now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(form.Encode())
	// Output: accessKey=LTAI5tKey&actions=R&expireTime=1700003600000&proxyType=MQTT&resources=vehicles%2Fcmd%2Fv1&serviceName=mq&signature=Ztg%2BheKX9aNc2RrFBlaan3ItRXc%3D
}

// The token service's answer to an application.
func ExampleParseTokenAnswer() {
	a, err := mqttrmq.ParseTokenAnswer([]byte(`{"success":true,"message":"token created","code":200,"tokenData":"mt1.eyJ2Ijox..."}`))
	fmt.Println(a.Success, a.Code, a.TokenData, err)
	// Output: true 200 mt1.eyJ2Ijox... <nil>
}

// A server reads a Token-mode password.
func ExampleParseTokenPassword() {
	tokens, err := mqttrmq.ParseTokenPassword("R|tokenA|W|tokenB")
	fmt.Println(tokens, err)
	// Output: [{R tokenA} {W tokenB}] <nil>
}

// An application server gets a token for an app, which then connects
// with it.
func ExampleTokenClient() {
	tokens := &mqttrmq.TokenClient{URL: "https://tokens.example.com", AccessKeyID: "LTAI5tKey", AccessKeySecret: "s3cret"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tok, err := tokens.Apply(ctx, mqttrmq.TokenApplication{
		Resources:  []string{"chat/room1/#"},
		Actions:    mqttrmq.TokenReadWrite,
		ExpireTime: time.Now().Add(24 * time.Hour),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	user, pass, err := mqttrmq.TokenCredentials("LTAI5tKey", "mqtt-cn-0pp1", mqttrmq.Token{Type: "RW", Value: tok})
	fmt.Println(user, len(pass) > 0, err)
}
