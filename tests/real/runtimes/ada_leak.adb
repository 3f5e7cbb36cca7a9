--  SPDX-License-Identifier: MIT
--  An Ada program: an access value dropped (lost), unbounded strings in
--  two tasks, functions returning strings on the secondary stack, an
--  exception raised and handled. With the argument "clean" the access
--  value is freed. expect-exit: 3
with Ada.Command_Line;
with Ada.Strings.Unbounded; use Ada.Strings.Unbounded;
with Ada.Text_IO; use Ada.Text_IO;
with Ada.Unchecked_Deallocation;

procedure Ada_Leak is
   type Buffer is array (1 .. 30) of Integer;
   type Buffer_Access is access Buffer;
   procedure Free is new Ada.Unchecked_Deallocation (Buffer, Buffer_Access);

   Lengths : array (1 .. 2) of Natural := (others => 0);

   task type Worker (Index : Positive; Count : Positive);
   task body Worker is
      Text : Unbounded_String;
   begin
      for I in 1 .. Count loop
         Append (Text, Integer'Image (I));
      end loop;
      Lengths (Index) := Length (Text);
   end Worker;

   function Image (N : Integer) return String is
   begin
      if N = 3 then
         raise Constraint_Error with "three";
      end if;
      return Integer'Image (N) & Integer'Image (N * N);
   end Image;

   procedure Lose (Clean : Boolean) is
      Lost : Buffer_Access := new Buffer'(others => 5); --  expect-leak: fn=ada_leak__lose blocks=1 bytes=120
   begin
      Put_Line (Integer'Image (Lost (30)));
      if Clean then
         Free (Lost);
      end if;
   end Lose;
begin
   Lose (Ada.Command_Line.Argument_Count = 1
         and then Ada.Command_Line.Argument (1) = "clean");
   declare
      First  : Worker (1, 100);
      Second : Worker (2, 200);
   begin
      null;
   end;
   Put_Line ("tasks" & Integer'Image (Lengths (1)) & Integer'Image (Lengths (2)));
   for I in 1 .. 5 loop
      begin
         Put_Line (Image (I));
      exception
         when Constraint_Error => Put_Line ("caught");
      end;
   end loop;
   Ada.Command_Line.Set_Exit_Status (3);
end Ada_Leak;
