package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
)

// A count vector holds the activity counts of one user over consecutive
// units of time, one little-endian int32 each, in the counts column of a
// vector table: activity_user_block_days has a row per 32-day block and
// user with its 32 daily counts, activity_user_day_hours a row per UTC day
// and user with its 24 hourly counts. The SQL functions below (registered
// for every connection of the process) add, build and sum them (most reads
// sum them in Go, with sumUnits); each name carries the project's prefix so that it
// cannot clash with a host's own functions.
const (
	blockDaysBytes = daysPerBlock * 4
	dayHoursBytes  = 24 * 4
)

// The SQL functions over count vectors.
const (
	// fnCountsAdd(a, b): the sum of two vectors of one length (a NULL a
	// counts as zero).
	fnCountsAdd = "advisor_analytics_counts_add"
	// fnDays(dayInBlock, n) and fnHours(hourInDay, n): aggregates building
	// a vector of 32 days or 24 hours with n added at each row's unit.
	fnDays  = "advisor_analytics_days"
	fnHours = "advisor_analytics_hours"
	// fnUnitsSum(v, lo, hi): the sum of the units lo…hi of the vector v
	// (clamped to its units).
	fnUnitsSum = "advisor_analytics_units_sum"
)

func init() {
	msqlite.MustRegisterFunction(fnCountsAdd, &msqlite.FunctionImpl{NArgs: 2, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			b, err := countVec(args[1])
			if err != nil {
				return nil, err
			}
			out := make([]byte, len(b))
			if args[0] != nil {
				a, err := countVec(args[0])
				if err != nil {
					return nil, err
				}
				if len(a) != len(b) {
					return nil, fmt.Errorf("%s: vectors of %d and %d bytes", fnCountsAdd, len(a), len(b))
				}
				copy(out, a)
			}
			for i := 0; i < len(b); i += 4 {
				binary.LittleEndian.PutUint32(out[i:], binary.LittleEndian.Uint32(out[i:])+binary.LittleEndian.Uint32(b[i:]))
			}
			return out, nil
		}})
	msqlite.MustRegisterFunction(fnUnitsSum, &msqlite.FunctionImpl{NArgs: 3, Deterministic: true,
		Scalar: func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			v, err := countVec(args[0])
			if err != nil {
				return nil, err
			}
			lo, ok1 := args[1].(int64)
			hi, ok2 := args[2].(int64)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: want two unit numbers, got %v, %v", fnUnitsSum, args[1], args[2])
			}
			return sumUnits(v, 0, lo, hi), nil
		}})
	for name, size := range map[string]int{fnDays: blockDaysBytes, fnHours: dayHoursBytes} {
		msqlite.MustRegisterFunction(name, &msqlite.FunctionImpl{NArgs: 2, Deterministic: true,
			MakeAggregate: func(msqlite.FunctionContext) (msqlite.AggregateFunction, error) {
				return &countsAgg{name: name, v: make([]byte, size)}, nil
			}})
	}
}

// countVec checks that a SQL value is a count vector.
func countVec(a driver.Value) ([]byte, error) {
	v, ok := a.([]byte)
	if !ok || len(v) == 0 || len(v)%4 != 0 {
		return nil, fmt.Errorf("count vector: want a BLOB of 4-byte counts, got %T", a)
	}
	return v, nil
}

// sumUnits sums the counts of v, the vector of row, for the units first…
// last, clamped to the row's.
func sumUnits(v []byte, row, first, last int64) int64 {
	n := int64(len(v) / 4)
	lo, hi := max(row*n, first), min(row*n+n-1, last)
	var s int64
	for u := lo; u <= hi; u++ {
		s += int64(int32(binary.LittleEndian.Uint32(v[(u-row*n)*4:])))
	}
	return s
}

// addUnit adds n to unit i of the vector v.
func addUnit(v []byte, i int64, n int64) {
	p := v[i*4:]
	binary.LittleEndian.PutUint32(p, uint32(int32(binary.LittleEndian.Uint32(p))+int32(n)))
}

// countsAgg is the aggregate fnDays or fnHours.
type countsAgg struct {
	name string
	v    []byte
}

func (a *countsAgg) Step(_ *msqlite.FunctionContext, args []driver.Value) error {
	i, ok1 := args[0].(int64)
	n, ok2 := args[1].(int64)
	if !ok1 || !ok2 || i < 0 || i >= int64(len(a.v)/4) {
		return fmt.Errorf("%s: want a unit (0…%d) and a count, got %v, %v", a.name, len(a.v)/4-1, args[0], args[1])
	}
	addUnit(a.v, i, n)
	return nil
}

func (a *countsAgg) WindowInverse(*msqlite.FunctionContext, []driver.Value) error {
	return errors.New(a.name + " is not a window function")
}

func (a *countsAgg) WindowValue(*msqlite.FunctionContext) (driver.Value, error) { return a.v, nil }

func (a *countsAgg) Final(*msqlite.FunctionContext) {}
