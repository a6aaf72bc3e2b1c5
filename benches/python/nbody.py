"""nbody: the Sun and the four giant planets under Newtonian gravity,
advanced with a fixed time step (symplectic Euler), energy checked before
and after. Pure float arithmetic on lists.

Prints `nbody <seconds>` for the timed loop only.
"""

import time

STEPS = 60_000
# The result on native CPython; every runtime must reproduce it.
EXPECTED = ("-0.169075164", "-0.169014744")

PI = 3.141592653589793
SOLAR_MASS = 4 * PI * PI
DAYS_PER_YEAR = 365.24


def make_bodies():
    # position (AU), velocity (AU/day scaled to years), mass (solar masses)
    planets = [
        (  # Jupiter
            [4.84143144246472090e00, -1.16032004402742839e00, -1.03622044471123109e-01],
            [1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05],
            9.54791938424326609e-04,
        ),
        (  # Saturn
            [8.34336671824457987e00, 4.12479856412430479e00, -4.03523417114321381e-01],
            [-2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05],
            2.85885980666130812e-04,
        ),
        (  # Uranus
            [1.28943695621391310e01, -1.51111514016986312e01, -2.23307578892655734e-01],
            [2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05],
            4.36624404335156298e-05,
        ),
        (  # Neptune
            [1.53796971148509165e01, -2.59193146099879641e01, 1.79258772950371181e-01],
            [2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05],
            5.15138902046611451e-05,
        ),
    ]
    bodies = [([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], SOLAR_MASS)]
    for position, velocity, mass in planets:
        bodies.append(
            (position, [v * DAYS_PER_YEAR for v in velocity], mass * SOLAR_MASS)
        )
    # Give the Sun the momentum that makes the system's total zero.
    px = py = pz = 0.0
    for _, (vx, vy, vz), mass in bodies:
        px += vx * mass
        py += vy * mass
        pz += vz * mass
    sun_velocity = bodies[0][1]
    sun_velocity[0] = -px / SOLAR_MASS
    sun_velocity[1] = -py / SOLAR_MASS
    sun_velocity[2] = -pz / SOLAR_MASS
    return bodies


def pairs_of(bodies):
    return [
        (bodies[i], bodies[j])
        for i in range(len(bodies))
        for j in range(i + 1, len(bodies))
    ]


def energy(bodies, pairs):
    total = 0.0
    for (p1, v1, m1), (p2, v2, m2) in pairs:
        dx = p1[0] - p2[0]
        dy = p1[1] - p2[1]
        dz = p1[2] - p2[2]
        total -= m1 * m2 / ((dx * dx + dy * dy + dz * dz) ** 0.5)
    for _, (vx, vy, vz), mass in bodies:
        total += 0.5 * mass * (vx * vx + vy * vy + vz * vz)
    return total


def advance(bodies, pairs, dt, steps):
    for _ in range(steps):
        for (p1, v1, m1), (p2, v2, m2) in pairs:
            dx = p1[0] - p2[0]
            dy = p1[1] - p2[1]
            dz = p1[2] - p2[2]
            distance2 = dx * dx + dy * dy + dz * dz
            magnitude = dt / (distance2 * distance2**0.5)
            b1 = m1 * magnitude
            b2 = m2 * magnitude
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for position, velocity, _ in bodies:
            position[0] += dt * velocity[0]
            position[1] += dt * velocity[1]
            position[2] += dt * velocity[2]


def main():
    bodies = make_bodies()
    pairs = pairs_of(bodies)
    start = time.perf_counter()
    before = energy(bodies, pairs)
    advance(bodies, pairs, 0.01, STEPS)
    after = energy(bodies, pairs)
    elapsed = time.perf_counter() - start
    result = (f"{before:.9f}", f"{after:.9f}")
    if result != EXPECTED:
        raise SystemExit(f"nbody: wrong energies {result}, expected {EXPECTED}")
    print(f"nbody {elapsed:.6f}")


if __name__ == "__main__":
    main()
