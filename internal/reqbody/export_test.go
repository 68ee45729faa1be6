package reqbody

// DecodeStd is decodeStd, the encoding/json decoding Decode must agree with.
var DecodeStd = decodeStd
