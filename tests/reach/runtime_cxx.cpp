// SPDX-License-Identifier: MIT
// The C++ runtime's own memory is never a leak: the emergency exception
// pool, a caught exception, iostreams. expect-runtime-clean
#include <iostream>
#include <stdexcept>
#include <string>

int main()
{
	try {
		throw std::runtime_error(std::string(100, 'x'));
	} catch (const std::exception &error) {
		std::cout << "caught " << std::string(error.what()).size() << std::endl;
	}
	std::cerr << "done" << std::endl;
	return 0;
}
