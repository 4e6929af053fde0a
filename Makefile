.PHONY: run test proof
run:
	python3 dev.py run
test:
	python3 dev.py test
proof:
	python3 dev.py proof
