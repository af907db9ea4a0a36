module github.com/vhvcorp/demo-shared

go 1.24
