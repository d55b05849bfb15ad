package main

// The man page and the completion scripts are generated from the command
// tree; TestGeneratedFiles fails when they are stale. Regenerate with
// `go generate ./cmd/netoopsctl`.

//go:generate sh -c "go run . man > ../../docs/netoopsctl.8"
//go:generate sh -c "go run . completion bash > ../../completion/netoopsctl.bash"
//go:generate sh -c "go run . completion zsh > ../../completion/_netoopsctl"
