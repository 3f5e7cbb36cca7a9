! SPDX-License-Identifier: MIT
! A Fortran program: an array allocated through a pointer that is then
! nullified (lost), allocatable arrays freed by the runtime at the end of
! their scope, a unit opened and left to the runtime to close at STOP.
! With the argument "clean" the pointer's array is deallocated.
! expect-exit: 2
module work
  implicit none
contains
  subroutine lose_array(clean)
    logical, intent(in) :: clean
    integer, pointer :: p(:)
    allocate(p(25)) ! expect-leak: fn=__work_MOD_lose_array blocks=1 bytes=100
    p = 3
    print *, sum(p)
    if (clean) deallocate(p)
    nullify(p)
  end subroutine lose_array

  subroutine use_allocatable()
    real, allocatable :: a(:)
    integer :: i
    allocate(a(1000))
    do i = 1, size(a)
      a(i) = sqrt(real(i))
    end do
    print '(f10.2)', sum(a)
  end subroutine use_allocatable
end module work

program fortran_leak
  use work
  implicit none
  character(len=16) :: arg
  call get_command_argument(1, arg)
  call lose_array(arg == 'clean')
  call use_allocatable()
  open(unit=10, file='/etc/passwd', status='old', action='read')
  stop 2
end program fortran_leak
