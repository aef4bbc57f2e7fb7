module github.com/mqttrmq/mqttrmq

go 1.24.0
