package mysql

import (
	"database/sql"

	"github.com/dureqsql/completion/dialect"
)

// DefaultMaxAllowedPacket is the max_allowed_packet that a zero
// Dialect.MaxAllowedPacket means: 16 MiB, MariaDB's default and the smaller
// of the two servers' defaults (MySQL 8.0 and 8.4 use 64 MiB).
const DefaultMaxAllowedPacket = 16 << 20

// maxServerPacket is the maximum max_allowed_packet of both servers.
const maxServerPacket = 1 << 30

// packetReserve is the part of a packet kept for everything in a
// checkpoint's row and statement but its data: three IDs of up to 255 bytes,
// the kind, the timestamp and the protocol's headers. On MariaDB 10.11 with
// a 16 MiB packet, data 100 bytes short of the packet round-tripped with
// short IDs and data 60 bytes short did not, so 64 KiB leaves a wide margin.
const packetReserve = 64 << 10

// Capabilities returns what MySQL and MariaDB with InnoDB support: REPEATABLE
// READ (the default), READ COMMITTED and SERIALIZABLE, concurrent writers,
// databases as schemas, and the data size that max_allowed_packet leaves.
func (d Dialect) Capabilities() dialect.Capabilities {
	return dialect.Capabilities{
		IsolationLevels:   []sql.IsolationLevel{sql.LevelRepeatableRead, sql.LevelReadCommitted, sql.LevelSerializable},
		ConcurrentWriters: true,
		MaxDataSize:       d.MaxDataSize(),
		Schemas:           true,
	}
}

// MaxDataSize returns the largest checkpoint a store of this dialect
// accepts: MaxAllowedPacket less 64 KiB for the rest of the row. A LONGBLOB
// holds up to 4 GiB, so the packet is the limit. The driver sends large
// values in chunks, but the server still rejects a statement or row larger
// than max_allowed_packet.
func (d Dialect) MaxDataSize() int {
	packet := d.MaxAllowedPacket
	if packet <= 0 {
		packet = DefaultMaxAllowedPacket
	}
	packet = min(packet, maxServerPacket)
	return max(packet-packetReserve, 0)
}
