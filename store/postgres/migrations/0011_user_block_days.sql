-- The days of each block of activity_user_block_counts, one column each:
-- d0 is the block's first UTC day, d31 its last, and n stays their sum. A
-- range's days around its whole blocks (up to 16 at each edge) are then
-- read from one row per user and block, instead of a row per user and day
-- of activity_user_day_counts, whose rows of one day lie scattered over
-- that table's heap (every update of a row writes it again). Kept with the
-- other counters by every insert and delete; filled here from the daily
-- totals, in the migration's transaction (it reads the counters, not the
-- activities). Adding the columns rewrites nothing; the update rewrites
-- each row of the table once (users times blocks).
ALTER TABLE activity_user_block_counts
    ADD COLUMN d0 integer NOT NULL DEFAULT 0,
    ADD COLUMN d1 integer NOT NULL DEFAULT 0,
    ADD COLUMN d2 integer NOT NULL DEFAULT 0,
    ADD COLUMN d3 integer NOT NULL DEFAULT 0,
    ADD COLUMN d4 integer NOT NULL DEFAULT 0,
    ADD COLUMN d5 integer NOT NULL DEFAULT 0,
    ADD COLUMN d6 integer NOT NULL DEFAULT 0,
    ADD COLUMN d7 integer NOT NULL DEFAULT 0,
    ADD COLUMN d8 integer NOT NULL DEFAULT 0,
    ADD COLUMN d9 integer NOT NULL DEFAULT 0,
    ADD COLUMN d10 integer NOT NULL DEFAULT 0,
    ADD COLUMN d11 integer NOT NULL DEFAULT 0,
    ADD COLUMN d12 integer NOT NULL DEFAULT 0,
    ADD COLUMN d13 integer NOT NULL DEFAULT 0,
    ADD COLUMN d14 integer NOT NULL DEFAULT 0,
    ADD COLUMN d15 integer NOT NULL DEFAULT 0,
    ADD COLUMN d16 integer NOT NULL DEFAULT 0,
    ADD COLUMN d17 integer NOT NULL DEFAULT 0,
    ADD COLUMN d18 integer NOT NULL DEFAULT 0,
    ADD COLUMN d19 integer NOT NULL DEFAULT 0,
    ADD COLUMN d20 integer NOT NULL DEFAULT 0,
    ADD COLUMN d21 integer NOT NULL DEFAULT 0,
    ADD COLUMN d22 integer NOT NULL DEFAULT 0,
    ADD COLUMN d23 integer NOT NULL DEFAULT 0,
    ADD COLUMN d24 integer NOT NULL DEFAULT 0,
    ADD COLUMN d25 integer NOT NULL DEFAULT 0,
    ADD COLUMN d26 integer NOT NULL DEFAULT 0,
    ADD COLUMN d27 integer NOT NULL DEFAULT 0,
    ADD COLUMN d28 integer NOT NULL DEFAULT 0,
    ADD COLUMN d29 integer NOT NULL DEFAULT 0,
    ADD COLUMN d30 integer NOT NULL DEFAULT 0,
    ADD COLUMN d31 integer NOT NULL DEFAULT 0;

UPDATE activity_user_block_counts AS c SET d0 = x.d0, d1 = x.d1, d2 = x.d2, d3 = x.d3, d4 = x.d4, d5 = x.d5, d6 = x.d6, d7 = x.d7, d8 = x.d8, d9 = x.d9, d10 = x.d10, d11 = x.d11, d12 = x.d12, d13 = x.d13, d14 = x.d14, d15 = x.d15, d16 = x.d16, d17 = x.d17, d18 = x.d18, d19 = x.d19, d20 = x.d20, d21 = x.d21, d22 = x.d22, d23 = x.d23, d24 = x.d24, d25 = x.d25, d26 = x.d26, d27 = x.d27, d28 = x.d28, d29 = x.d29, d30 = x.d30, d31 = x.d31
FROM (
    SELECT user_key, block,
        COALESCE(sum(n) FILTER (WHERE dib = 0), 0)::integer AS d0,
        COALESCE(sum(n) FILTER (WHERE dib = 1), 0)::integer AS d1,
        COALESCE(sum(n) FILTER (WHERE dib = 2), 0)::integer AS d2,
        COALESCE(sum(n) FILTER (WHERE dib = 3), 0)::integer AS d3,
        COALESCE(sum(n) FILTER (WHERE dib = 4), 0)::integer AS d4,
        COALESCE(sum(n) FILTER (WHERE dib = 5), 0)::integer AS d5,
        COALESCE(sum(n) FILTER (WHERE dib = 6), 0)::integer AS d6,
        COALESCE(sum(n) FILTER (WHERE dib = 7), 0)::integer AS d7,
        COALESCE(sum(n) FILTER (WHERE dib = 8), 0)::integer AS d8,
        COALESCE(sum(n) FILTER (WHERE dib = 9), 0)::integer AS d9,
        COALESCE(sum(n) FILTER (WHERE dib = 10), 0)::integer AS d10,
        COALESCE(sum(n) FILTER (WHERE dib = 11), 0)::integer AS d11,
        COALESCE(sum(n) FILTER (WHERE dib = 12), 0)::integer AS d12,
        COALESCE(sum(n) FILTER (WHERE dib = 13), 0)::integer AS d13,
        COALESCE(sum(n) FILTER (WHERE dib = 14), 0)::integer AS d14,
        COALESCE(sum(n) FILTER (WHERE dib = 15), 0)::integer AS d15,
        COALESCE(sum(n) FILTER (WHERE dib = 16), 0)::integer AS d16,
        COALESCE(sum(n) FILTER (WHERE dib = 17), 0)::integer AS d17,
        COALESCE(sum(n) FILTER (WHERE dib = 18), 0)::integer AS d18,
        COALESCE(sum(n) FILTER (WHERE dib = 19), 0)::integer AS d19,
        COALESCE(sum(n) FILTER (WHERE dib = 20), 0)::integer AS d20,
        COALESCE(sum(n) FILTER (WHERE dib = 21), 0)::integer AS d21,
        COALESCE(sum(n) FILTER (WHERE dib = 22), 0)::integer AS d22,
        COALESCE(sum(n) FILTER (WHERE dib = 23), 0)::integer AS d23,
        COALESCE(sum(n) FILTER (WHERE dib = 24), 0)::integer AS d24,
        COALESCE(sum(n) FILTER (WHERE dib = 25), 0)::integer AS d25,
        COALESCE(sum(n) FILTER (WHERE dib = 26), 0)::integer AS d26,
        COALESCE(sum(n) FILTER (WHERE dib = 27), 0)::integer AS d27,
        COALESCE(sum(n) FILTER (WHERE dib = 28), 0)::integer AS d28,
        COALESCE(sum(n) FILTER (WHERE dib = 29), 0)::integer AS d29,
        COALESCE(sum(n) FILTER (WHERE dib = 30), 0)::integer AS d30,
        COALESCE(sum(n) FILTER (WHERE dib = 31), 0)::integer AS d31
    FROM (
        SELECT user_key, floor((day - DATE '1970-01-01') / 32.0)::integer AS block,
            (day - DATE '1970-01-01') - 32 * floor((day - DATE '1970-01-01') / 32.0)::integer AS dib, n
        FROM activity_user_day_counts
    ) y
    GROUP BY 1, 2
) x
WHERE c.user_key = x.user_key AND c.block = x.block;
