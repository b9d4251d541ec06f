"""VehicleControlAPI: a car's engine, doors, brakes, climate, lights and navigation (``vehicle_control.json``).

Behaves as BFCL's class does (observed): starting the engine needs every door locked and the brake pedal fully
pressed; speeds and outside temperatures come from a seeded generator (seed 141053 unless the scenario gives
``random_seed``); distances are known for a fixed set of zip-code pairs; long-context mode pads several results
with BFCL's filler texts. State compared: every public attribute (``fuelLevel``, ``batteryVoltage``,
``engine_state``, ``remainingUnlockedDoors``, ``doorStatus``, ``acTemperature``, ``fanSpeed``, ``acMode``,
``humidityLevel``, ``headLightStatus``, ``parkingBrakeStatus``, ``brakePedalStatus``, ``distanceToNextVehicle``,
``cruiseStatus``, ``destination``, the four tire pressures, ``long_context``); the brake forces and the slope
angle are private, as in BFCL.
"""

from __future__ import annotations

import copy
import random

from ._base import SimulatedAPI, long_context_data

__all__ = ["VehicleControlAPI"]

MAX_FUEL_LEVEL = 50
MIN_FUEL_LEVEL = 0.0
MILE_PER_GALLON = 20.0

_DEFAULTS = {
    "random_seed": 141053,
    "fuelLevel": 0.0,
    "batteryVoltage": 12.6,
    "engineState": "stopped",
    "doorStatus": {"driver": "unlocked", "passenger": "unlocked", "rear_left": "unlocked", "rear_right": "unlocked"},
    "acTemperature": 25.0,
    "fanSpeed": 50,
    "acMode": "auto",
    "humidityLevel": 50.0,
    "headLightStatus": "off",
    "parkingBrakeStatus": "released",
    "parkingBrakeForce": 0.0,
    "slopeAngle": 0.0,
    "brakePedalStatus": "released",
    "brakePedalForce": 0.0,
    "distanceToNextVehicle": 50.0,
    "cruiseStatus": "inactive",
    "destination": "None",
    "frontLeftTirePressure": 32.0,
    "frontRightTirePressure": 32.0,
    "rearLeftTirePressure": 30.0,
    "rearRightTirePressure": 30.0,
}
_ZIP = {
    "Rivermist": "83214",
    "Stonebrook": "74532",
    "Maplecrest": "56108",
    "Silverpine": "62947",
    "Shadowridge": "71354",
    "Sunset Valley": "83462",
    "Oakendale": "47329",
    "Willowbend": "52013",
    "Crescent Hollow": "69238",
    "Autumnville": "51479",
    "San Francisco": "94016",
}
_DISTANCES = [
    ("83214", "74532", 750.0),
    ("56108", "62947", 320.0),
    ("71354", "83462", 450.0),
    ("47329", "52013", 290.0),
    ("69238", "51479", 630.0),
    ("94016", "83214", 980.0),
    ("94016", "94704", 600.0),
    ("94704", "08540", 2550.0),
    ("94016", "08540", 1950.0),
    ("62947", "47329", 1053.0),
    ("94016", "62947", 780.0),
    ("74532", "94016", 880.0),
]


class VehicleControlAPI(SimulatedAPI):
    """See the module docs."""

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        d = copy.deepcopy(_DEFAULTS)

        def get(key: str):
            return scenario.get(key, d[key])

        self._random = random.Random(get("random_seed"))
        self.fuelLevel = get("fuelLevel")
        self.batteryVoltage = get("batteryVoltage")
        self.engine_state = get("engineState")
        self.remainingUnlockedDoors = scenario.get("remainingUnlockedDoors", 4)
        self.doorStatus = get("doorStatus")
        self.remainingUnlockedDoors = 4 - sum(1 for s in self.doorStatus.values() if s == "locked")
        self.acTemperature = get("acTemperature")
        self.fanSpeed = get("fanSpeed")
        self.acMode = get("acMode")
        self.humidityLevel = get("humidityLevel")
        self.headLightStatus = get("headLightStatus")
        self.parkingBrakeStatus = get("parkingBrakeStatus")
        self._parkingBrakeForce = get("parkingBrakeForce")
        self._slopeAngle = get("slopeAngle")
        self.brakePedalStatus = get("brakePedalStatus")
        self._brakePedalForce = get("brakePedalForce")
        self.distanceToNextVehicle = get("distanceToNextVehicle")
        self.cruiseStatus = get("cruiseStatus")
        self.destination = get("destination")
        self.frontLeftTirePressure = get("frontLeftTirePressure")
        self.frontRightTirePressure = get("frontRightTirePressure")
        self.rearLeftTirePressure = get("rearLeftTirePressure")
        self.rearRightTirePressure = get("rearRightTirePressure")
        self.long_context = long_context

    def startEngine(self, ignitionMode: str):
        if ignitionMode == "STOP":
            self.engine_state = "stopped"
        if self.remainingUnlockedDoors > 0:
            unlocked = [door for door, s in self.doorStatus.items() if s == "unlocked"]
            return {
                "error": "All doors must be locked before starting the engine. Here are the unlocked doors: "
                + ", ".join(unlocked)
            }
        if self.brakePedalStatus != "pressed":
            return {"error": "Brake pedal needs to be pressed when starting the engine."}
        if self._brakePedalForce != 1000.0:
            return {"error": "Must press the brake fully before starting the engine."}
        if self.fuelLevel < MIN_FUEL_LEVEL:
            return {"error": "Fuel tank is empty."}
        if ignitionMode != "START":
            return {"error": "Invalid ignition mode."}
        self.engine_state = "running"
        return {"engineState": self.engine_state, "fuelLevel": self.fuelLevel, "batteryVoltage": self.batteryVoltage}

    def fillFuelTank(self, fuelAmount: float):
        if fuelAmount < 0:
            return {"error": "Fuel amount cannot be negative."}
        if self.fuelLevel + fuelAmount > MAX_FUEL_LEVEL:
            return {"error": "Cannot fill gas above the tank capacity."}
        if self.fuelLevel + fuelAmount < MIN_FUEL_LEVEL:
            return {"error": "Fuel tank is empty. Min fuel level is 0 gallons."}
        self.fuelLevel += fuelAmount
        return {"fuelLevel": self.fuelLevel}

    def lockDoors(self, unlock: bool, door: list):
        want = "unlocked" if unlock else "locked"
        for d in door:
            if self.doorStatus[d] == want:
                continue
            self.doorStatus[d] = want
            self.remainingUnlockedDoors += 1 if unlock else -1
        return {"lockStatus": want, "remainingUnlockedDoors": self.remainingUnlockedDoors}

    def adjustClimateControl(self, temperature: float, unit: str = "celsius", fanSpeed: int = 50, mode: str = "auto"):
        if not 0 <= fanSpeed <= 100:
            return {"error": "Fan speed must be between 0 and 100."}
        self.acTemperature = (temperature - 32) * 5 / 9 if unit == "fahrenheit" else temperature
        self.fanSpeed = fanSpeed
        self.acMode = mode
        return {"currentACTemperature": temperature, "climateMode": mode, "humidityLevel": self.humidityLevel}

    def get_outside_temperature_from_google(self):
        t = self._random.uniform(-10.0, 40.0)
        if self.long_context:
            return {**long_context_data()["LONG_WEATHER_EXTENSION"], "outsideTemperature": t}
        return {"outsideTemperature": t}

    def get_outside_temperature_from_weather_com(self):
        return {"error": 404}

    def setHeadlights(self, mode: str):
        if mode not in ("on", "off", "auto"):
            return {"error": "Invalid headlight mode."}
        self.headLightStatus = "on" if mode == "on" else "off"
        return {"headlightStatus": self.headLightStatus}

    def displayCarStatus(self, option: str):
        status: dict = {}
        if self.long_context:
            status["metadata"] = long_context_data()["CAR_STATUS_METADATA_EXTENSION"]
        views = {
            "fuel": lambda: {"fuelLevel": self.fuelLevel},
            "battery": lambda: {"batteryVoltage": self.batteryVoltage},
            "doors": lambda: {"doorStatus": self.doorStatus},
            "climate": lambda: {
                "currentACTemperature": self.acTemperature,
                "fanSpeed": self.fanSpeed,
                "climateMode": self.acMode,
                "humidityLevel": self.humidityLevel,
            },
            "headlights": lambda: {"headlightStatus": self.headLightStatus},
            "parkingBrake": lambda: {
                "parkingBrakeStatus": self.parkingBrakeStatus,
                "parkingBrakeForce": self._parkingBrakeForce,
                "slopeAngle": self._slopeAngle,
            },
            "brakePedal": lambda: {"brakePedalStatus": self.brakePedalStatus, "brakePedalForce": self._brakePedalForce},
            "engine": lambda: {"engineState": self.engine_state},
        }
        view = views.get(option) if isinstance(option, str) else None
        status.update(view() if view else {"error": "Invalid option"})
        return status

    def activateParkingBrake(self, mode: str):
        if mode not in ("engage", "release"):
            return {"error": "Invalid mode"}
        engage = mode == "engage"
        self.parkingBrakeStatus = "engaged" if engage else "released"
        self._parkingBrakeForce = 500.0 if engage else 0.0
        self._slopeAngle = 10.0
        out = {
            "parkingBrakeStatus": self.parkingBrakeStatus,
            "_parkingBrakeForce": self._parkingBrakeForce,
            "_slopeAngle": 10.0,
        }
        if self.long_context:
            return {"parkingBrakeInstruction": long_context_data()["PARKING_BRAKE_INSTRUCTION"], **out}
        return out

    def pressBrakePedal(self, pedalPosition: float):
        if not 0 <= pedalPosition <= 1:
            return {"error": "Pedal position must be between 0 and 1."}
        if pedalPosition == 0:
            self.brakePedalStatus = "released"
            self._brakePedalForce = 0.0
            return {"brakePedalStatus": "released", "brakePedalForce": 0.0}
        force = pedalPosition * 1000
        self.brakePedalStatus = "pressed"
        self._brakePedalForce = force
        return {"brakePedalStatus": "pressed", "brakePedalForce": float(force)}

    def releaseBrakePedal(self):
        self.brakePedalStatus = "released"
        self._brakePedalForce = 0.0
        return {"brakePedalStatus": "released", "brakePedalForce": 0.0}

    def setCruiseControl(self, speed: float, activate: bool, distanceToNextVehicle: float):
        distanceToNextVehicle = float(distanceToNextVehicle)
        speed = float(speed)
        if self.engine_state == "stopped":
            return {"error": "Start the engine before activating the cruise control."}
        self.distanceToNextVehicle = distanceToNextVehicle
        if activate:
            if speed < 0 or speed > 120 or speed % 5 != 0:
                return {"error": "Invalid speed"}
            self.cruiseStatus = "active"
        else:
            self.cruiseStatus = "inactive"
        return {
            "cruiseStatus": self.cruiseStatus,
            "currentSpeed": speed,
            "distanceToNextVehicle": distanceToNextVehicle,
        }

    def get_current_speed(self):
        return {"currentSpeed": self._random.uniform(0.0, 120.0)}

    def display_log(self, messages: list):
        return {"log": messages}

    def estimate_drive_feasibility_by_mileage(self, distance: float):
        return {"canDrive": not (self.fuelLevel * MILE_PER_GALLON < distance)}

    def liter_to_gallon(self, liter: float):
        return {"gallon": liter * 0.264172}

    def gallon_to_liter(self, gallon: float):
        return {"liter": gallon * 3.78541}

    def estimate_distance(self, cityA: str, cityB: str):
        out: dict = {"error": "distance not found in database."}
        for a, b, km in _DISTANCES:
            if (cityA, cityB) in ((a, b), (b, a)):
                out = {"distance": km}
                break
        if self.long_context:
            out["intermediaryCities"] = long_context_data()["INTERMEDIARY_CITIES"]
        return out

    def get_zipcode_based_on_city(self, city: str):
        return {"zipcode": _ZIP.get(city, "00000") if isinstance(city, str) else "00000"}

    def set_navigation(self, destination: str):
        self.destination = destination
        return {"status": "Navigating to " + destination}

    def check_tire_pressure(self):
        tires = (
            self.frontLeftTirePressure,
            self.frontRightTirePressure,
            self.rearLeftTirePressure,
            self.rearRightTirePressure,
        )
        healthy = 30 <= sum(tires) / 4 <= 35
        status = {
            "frontLeftTirePressure": tires[0],
            "frontRightTirePressure": tires[1],
            "rearLeftTirePressure": tires[2],
            "rearRightTirePressure": tires[3],
            "healthy_tire_pressure": healthy,
            "car_info": {},
        }
        if self.long_context:
            status["car_info"] = long_context_data()["CAR_STATUS_METADATA_EXTENSION"]
        return status

    def find_nearest_tire_shop(self):
        return {"shopLocation": "456 Oakwood Avenue, Rivermist, 83214"}
