package sqlite

import (
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
)

// A day vector holds the activity counts of one user in one 32-day block,
// day by day: daysPerBlock little-endian int32 values, dayVecBytes bytes,
// in the days column of activity_user_block_days. The SQL functions below
// (registered for every connection of the process) add, sum and build
// them; each name carries the project's prefix so that it cannot clash
// with a host's own functions.
const dayVecBytes = daysPerBlock * 4

// The SQL functions over day vectors.
const (
	// fnDaysAdd(a, b): the vector sum of a and b (a NULL a is zero).
	fnDaysAdd = "advisor_analytics_days_add"
	// fnDaysSum(v, block, first, last): the sum of v's counts for the days
	// first…last (unix day numbers) of block.
	fnDaysSum = "advisor_analytics_days_sum"
	// fnDays(dayInBlock, n): aggregate building a vector with n added at
	// each row's day of the block (0…31).
	fnDays = "advisor_analytics_days"
)

func init() {
	msqlite.MustRegisterFunction(fnDaysAdd, &msqlite.FunctionImpl{NArgs: 2, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			out := make([]byte, dayVecBytes)
			for _, a := range args {
				if a == nil {
					continue
				}
				v, err := dayVec(a)
				if err != nil {
					return nil, err
				}
				for i := 0; i < dayVecBytes; i += 4 {
					binary.LittleEndian.PutUint32(out[i:], binary.LittleEndian.Uint32(out[i:])+binary.LittleEndian.Uint32(v[i:]))
				}
			}
			return out, nil
		}})
	msqlite.MustRegisterFunction(fnDaysSum, &msqlite.FunctionImpl{NArgs: 4, Deterministic: true, VolatileArgs: true,
		Scalar: func(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			v, err := dayVec(args[0])
			if err != nil {
				return nil, err
			}
			block, ok1 := args[1].(int64)
			first, ok2 := args[2].(int64)
			last, ok3 := args[3].(int64)
			if !ok1 || !ok2 || !ok3 {
				return nil, errors.New(fnDaysSum + ": block, first and last must be integers")
			}
			return sumDays(v, block, first, last), nil
		}})
	msqlite.MustRegisterFunction(fnDays, &msqlite.FunctionImpl{NArgs: 2, Deterministic: true,
		MakeAggregate: func(msqlite.FunctionContext) (msqlite.AggregateFunction, error) {
			return &daysAgg{v: make([]byte, dayVecBytes)}, nil
		}})
}

// dayVec checks that a SQL value is a day vector.
func dayVec(a driver.Value) ([]byte, error) {
	v, ok := a.([]byte)
	if !ok || len(v) != dayVecBytes {
		return nil, fmt.Errorf("day vector: want a BLOB of %d bytes, got %T", dayVecBytes, a)
	}
	return v, nil
}

// sumDays sums the counts of v (the vector of block) for the days first…
// last, clamped to the block.
func sumDays(v []byte, block, first, last int64) int64 {
	lo, hi := block*daysPerBlock, block*daysPerBlock+daysPerBlock-1
	lo, hi = max(lo, first), min(hi, last)
	var s int64
	for d := lo; d <= hi; d++ {
		i := (d - block*daysPerBlock) * 4
		s += int64(int32(binary.LittleEndian.Uint32(v[i:])))
	}
	return s
}

// addDay adds n to day i (0…31) of the vector v.
func addDay(v []byte, i int64, n int64) {
	p := v[i*4:]
	binary.LittleEndian.PutUint32(p, uint32(int32(binary.LittleEndian.Uint32(p))+int32(n)))
}

// daysAgg is the aggregate fnDays.
type daysAgg struct{ v []byte }

func (a *daysAgg) Step(_ *msqlite.FunctionContext, args []driver.Value) error {
	i, ok1 := args[0].(int64)
	n, ok2 := args[1].(int64)
	if !ok1 || !ok2 || i < 0 || i >= daysPerBlock {
		return fmt.Errorf("%s: want a day of the block (0…%d) and a count, got %v, %v", fnDays, daysPerBlock-1, args[0], args[1])
	}
	addDay(a.v, i, n)
	return nil
}

func (a *daysAgg) WindowInverse(*msqlite.FunctionContext, []driver.Value) error {
	return errors.New(fnDays + " is not a window function")
}

func (a *daysAgg) WindowValue(*msqlite.FunctionContext) (driver.Value, error) { return a.v, nil }

func (a *daysAgg) Final(*msqlite.FunctionContext) {}
