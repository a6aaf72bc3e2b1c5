import json

def parse(text):
    return json.loads(text)

def load_config():
    data = parse('{"port": 8080}')
    print("config", data)
    return data["host"]

print("before the failure")
load_config()
