// Command hello prints hello: the program TestExecutable builds.
package main

import "fmt"

func main() { fmt.Println("hello") }
