package pgtarget

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

// containerImage is the image that Find runs when it falls back to
// testcontainers.
const containerImage = "postgres:16-alpine"

// dockerPingTimeout bounds the check for a Docker engine, so that Find
// fails fast on a machine without one.
const dockerPingTimeout = 10 * time.Second

// dockerCheck returns nil when a Docker engine responds to a ping. Tests
// replace it.
var dockerCheck = pingDocker

// pingDocker looks for a Docker engine where testcontainers looks (its
// properties file, DOCKER_HOST, the Docker context, the default and
// rootless sockets) and pings it.
func pingDocker(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()

	docker, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("no Docker engine responded at DOCKER_HOST, the Docker context or the default sockets: %w", err)
	}
	defer docker.Close()
	if _, err := docker.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no Docker engine responded at %s: %w", docker.DaemonHost(), err)
	}
	return nil
}

// startContainer runs containerImage with testcontainers and waits until
// the server accepts connections.
//
// NOTE: no Docker engine was available where this package was written, so
// this path is compiled but has not been run.
func startContainer(ctx context.Context) (*Target, error) {
	container, err := tcpostgres.Run(ctx, containerImage, tcpostgres.BasicWaitStrategies())
	if err != nil {
		// Run may return a container that started but never became ready.
		_ = testcontainers.TerminateContainer(container)
		return nil, fmt.Errorf("dureq: start PostgreSQL container %s with testcontainers: %w", containerImage, err)
	}

	dsn, err := container.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		_ = testcontainers.TerminateContainer(container)
		return nil, fmt.Errorf("dureq: get address of PostgreSQL container %s: %w", containerImage, err)
	}

	return &Target{
		DSN:    dsn,
		Source: sourceContainer,
		stop: func() error {
			if err := testcontainers.TerminateContainer(container); err != nil {
				return fmt.Errorf("remove PostgreSQL container: %w", err)
			}
			return nil
		},
	}, nil
}
