// Zap and zerolog, configured to write what svckit writes: ts (RFC 3339, UTC, microseconds), level,
// msg, caller, then the fields; output to io.Discard. Built offline in GOPATH mode from Debian's
// packages (golang-go.uber-zap-dev, golang-github-rs-zerolog-dev). Run by bench/log/run.sh.
package peers

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const layout = "2006-01-02T15:04:05.000000Z07:00"

func newZap(caller bool) *zap.Logger {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey = "ts"
	cfg.EncodeTime = func(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
		zapcore.TimeEncoderOfLayout(layout)(t.UTC(), enc)
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(cfg), zapcore.AddSync(io.Discard), zap.InfoLevel)
	if caller {
		return zap.New(core, zap.AddCaller())
	}
	return zap.New(core)
}

func newZerolog(caller bool) zerolog.Logger {
	zerolog.TimeFieldFormat = layout
	zerolog.TimestampFunc = func() time.Time { return time.Now().UTC() }
	zerolog.TimestampFieldName = "ts"
	zerolog.MessageFieldName = "msg"
	ctx := zerolog.New(io.Discard).With().Timestamp()
	if caller {
		ctx = ctx.Caller()
	}
	return ctx.Logger().Level(zerolog.InfoLevel)
}

var errExample = errors.New("connection refused")

func zapFields() []zap.Field {
	return []zap.Field{
		zap.Int("int", 1), zap.Int64("int64", 2), zap.String("string", "three"),
		zap.String("string2", "four, five"), zap.Bool("bool", true), zap.Float64("float", 6.5),
		zap.Duration("duration", 7*time.Millisecond), zap.Time("time", time.Now()),
		zap.Error(errExample), zap.Uint("uint", 8),
	}
}

func benchZap10Fields(b *testing.B, caller bool) {
	logger := newZap(caller)
	when := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		logger.Info("Go fast.",
			zap.Int("int", 1), zap.Int64("int64", 2), zap.String("string", "three"),
			zap.String("string2", "four, five"), zap.Bool("bool", true), zap.Float64("float", 6.5),
			zap.Duration("duration", 7*time.Millisecond), zap.Time("time", when),
			zap.Error(errExample), zap.Uint("uint", 8))
	}
}

func benchZapContext(b *testing.B, caller bool) {
	logger := newZap(caller).With(zapFields()...)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		logger.Info("Go really fast.")
	}
}

func benchZerolog10Fields(b *testing.B, caller bool) {
	logger := newZerolog(caller)
	when := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		logger.Info().Int("int", 1).Int64("int64", 2).Str("string", "three").
			Str("string2", "four, five").Bool("bool", true).Float64("float", 6.5).
			Dur("duration", 7*time.Millisecond).Time("time", when).
			Err(errExample).Uint("uint", 8).Msg("Go fast.")
	}
}

func benchZerologContext(b *testing.B, caller bool) {
	logger := newZerolog(caller).With().Int("int", 1).Int64("int64", 2).Str("string", "three").
		Str("string2", "four, five").Bool("bool", true).Float64("float", 6.5).
		Dur("duration", 7*time.Millisecond).Time("time", time.Now()).
		Err(errExample).Uint("uint", 8).Logger()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		logger.Info().Msg("Go really fast.")
	}
}

func BenchmarkZap10Fields(b *testing.B)              { benchZap10Fields(b, true) }
func BenchmarkZapContext10Fields(b *testing.B)       { benchZapContext(b, true) }
func BenchmarkZerolog10Fields(b *testing.B)          { benchZerolog10Fields(b, true) }
func BenchmarkZerologContext10Fields(b *testing.B)   { benchZerologContext(b, true) }
func BenchmarkZapNoCaller10Fields(b *testing.B)      { benchZap10Fields(b, false) }
func BenchmarkZapNoCallerContext(b *testing.B)       { benchZapContext(b, false) }
func BenchmarkZerologNoCaller10Fields(b *testing.B)  { benchZerolog10Fields(b, false) }
func BenchmarkZerologNoCallerContext(b *testing.B)   { benchZerologContext(b, false) }
