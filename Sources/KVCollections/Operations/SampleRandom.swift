/// The random numbers behind the random picks (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER):
/// SplitMix64 seeded once per command from the system generator. The system generator makes
/// one getrandom(2) call per number; a pick draws a byte per position of the target key, and
/// that was a sixth of SPOP's time. These picks need spread, not secrecy.
struct SampleRandom: RandomNumberGenerator {
    private var state: UInt64

    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
